"""Lambda entry for `POST /train`, `GET /train`, `GET /train/{job_name}` (IAM-authenticated)."""

from __future__ import annotations

from typing import Any

import boto3
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver, CORSConfig, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from botocore.config import Config

from apiedge import http
from launcher import api_io
from launcher.idempotency import build_config, make_idempotent
from launcher.launch import Launcher
from launcher.lookup import JobLookup
from launcher.settings import get_settings
from launcher.source_bundle import SourceBundle, SourcePublisher

settings = get_settings()
logger, tracer, metrics = Logger(), Tracer(), Metrics()
_aws = Config(retries={"mode": "standard", "max_attempts": 3})  # bounded: everything stops at 29 s
sagemaker, s3 = boto3.client("sagemaker", config=_aws), boto3.client("s3", config=_aws)
publisher = SourcePublisher(s3, settings.models_bucket, settings.code_prefix, SourceBundle.load())
launcher = Launcher(settings, sagemaker, s3, publisher)
lookup = JobLookup(settings, sagemaker)
idempotency_config = build_config(settings)
dynamodb = boto3.client("dynamodb", config=_aws)
launch_once = make_idempotent(launcher.launch, settings, dynamodb, idempotency_config)
cors = CORSConfig(allow_origin=settings.cors_allow_origin, allow_headers=[api_io.IDEMPOTENCY_HEADER])
app = APIGatewayRestResolver(cors=cors if settings.cors_allow_origin else None)
http.install(app, logger=logger, metrics=metrics, refused_metric="TrainingRequestRefused", adapt=api_io.adapt)


@app.post("/train")
def start_training() -> Response:
    event = app.current_event
    req = launcher.parse(http.json_object(event.decoded_body))  # the one parse of the body
    launcher.check_inputs(req)  # before idempotency: a missing dataset is never stored as an answer
    caller = {"requester": http.requester(event), "idempotency_key": api_io.idempotency_key(event)}
    result = launch_once(launch=caller | {"body": req.normalized()}, request=req)
    metrics.add_metric("TrainingJobReplayed" if result.get("replayed") else "TrainingJobLaunched", "Count", 1)
    url = api_io.status_url(event, result["job_name"])
    return http.json_response(202, result | {"status_url": url}, {"Location": url})


@app.get("/train")
def list_jobs() -> Response:
    return http.json_response(200, lookup.recent(**api_io.list_query(app.current_event)))


@app.get("/train/<job_name>")
def get_job(job_name: str) -> Response:
    return http.json_response(200, lookup.describe(job_name))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency_config.register_lambda_context(context)
    return app.resolve(event, context)
