"""The main job on embedded defaults: the whole application on this machine, step by step.

    python -m devkit demo            # train (fine-tune) -> promote -> serve, on the stand-ins
    python -m devkit demo --quick    # skip training: serve the shipped model

Everything the production stack has runs here with the production code: moto's server holds
what template.yaml declares, the local API server serves every route of the template with the
functions' own handlers, and the local SageMaker backend runs training/train.py with SageMaker's
directory contract. All traffic stays on 127.0.0.1; no AWS account, no Docker.
"""

from __future__ import annotations

import argparse
import json
import shutil
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TextIO

from devkit.synth import generate_dataset, render_invoice
from devkit.synth.pdf import born_digital_invoice
from devkit.validation import box_iou

DEFAULT_SEED = 2026

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "models" / "demo"
# Fine-tuning hyperparameters for the demo job: the demo model's recipe (see its model card).
FINE_TUNE = {"mosaic": 0, "fliplr": 0, "scale": 0.2, "translate": 0.05, "nbs": 8, "warmup_epochs": 0}


class Step:
    """Numbered, visible progress."""

    def __init__(self, total: int) -> None:
        self.total, self.n, self.started = total, 0, time.monotonic()

    def __call__(self, text: str) -> None:
        self.n += 1
        print(f"\n[{self.n}/{self.total}] {text}  (+{time.monotonic() - self.started:.0f} s)", flush=True)


class Client:
    """A plain HTTP client for the local API (what curl would do)."""

    def __init__(self, base: str) -> None:
        self.base = base

    def call(
        self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        # The base is always the local API's http://127.0.0.1:<port>: no file: or custom schemes.
        request = urllib.request.Request(  # noqa: S310
            self.base + path, data=body, method=method, headers=headers or {}
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:  # noqa: S310
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            return error.code, dict(error.headers), error.read()

    def json(self, method: str, path: str, payload: Any = None) -> tuple[int, Any]:
        data = json.dumps(payload).encode() if payload is not None else None
        status, _, out = self.call(method, path, data, {"Content-Type": "application/json"})
        return status, json.loads(out or b"{}")


@contextmanager
def running_stack(
    parameters: dict[str, str], port: int = 0, function_logs: TextIO | None = None
) -> Iterator[tuple[Any, Any, Client]]:
    """Stand-in + local training backend + the local API on a loopback port (0: a free one)."""
    from devkit.local_api import make_server  # noqa: PLC0415 - heavy imports after argument parsing
    from devkit.local_training import LocalTraining  # noqa: PLC0415
    from devkit.stand_in import StandIn  # noqa: PLC0415

    with StandIn(parameters=parameters, function_logs=function_logs) as aws, LocalTraining(aws) as training:
        server = make_server(port=port, api=aws.local_api())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        host, port = server.server_address[:2]
        try:
            yield aws, training, Client(f"http://{host}:{port}")
        finally:
            server.shutdown()
            server.server_close()


def upload_tree(s3: Any, root: Path, bucket: str, prefix: str) -> str:
    """Upload a directory; return its s3:// prefix."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.name.endswith(".cache"):
            s3.upload_file(str(path), bucket, prefix + path.relative_to(root).as_posix())
    return f"s3://{bucket}/{prefix}"


def train(aws: Any, training: Any, api: Client, step: Step, args: argparse.Namespace) -> str | None:
    """Dataset -> S3 -> POST /train -> poll -> promotion. Returns the promoted version, if any."""
    step(f"Generating {args.pages} synthetic invoices (+{args.pages // 4} validation pages)")
    dataset = args.out / "dataset"
    shutil.rmtree(dataset, ignore_errors=True)
    generate_dataset(dataset, n_train=args.pages, n_val=max(2, args.pages // 4), seed=args.seed)

    step("Uploading the dataset (data bucket) and the shipped model as base weights (models bucket)")
    s3, bucket = aws.client("s3"), aws.name("DataBucket")
    uri = upload_tree(s3, dataset, bucket, f"datasets/demo-{args.seed}/")
    # Base weights only from prefixes this stack alone writes (a pickle is code): models/.
    models = aws.name("ModelsBucket")
    version = json.loads((SHIPPED / "metrics.json").read_text())["version"]
    weights = f"s3://{models}/models/{version}/best.pt"
    s3.upload_file(str(SHIPPED / "best.pt"), models, f"models/{version}/best.pt")
    print(f"  dataset {uri}\n  base weights {weights}")

    step(f"POST /train: fine-tune the shipped model for {args.epochs} epoch(s)")
    request = {
        "dataset": uri,
        "base_weights": weights,
        "epochs": args.epochs,
        "imgsz": args.imgsz,
        "batch": 8,
        "hyperparameters": FINE_TUNE,
    }
    status, body = api.json("POST", "/train", request)
    print(f"  {status} {json.dumps(body)[:300]}")
    if status != 202:
        raise SystemExit(f"POST /train failed: {status} {body}")
    job = body["job_name"]

    step(f"Polling GET /train/{job} until the job ends")
    last = None
    while True:
        status, body = api.json("GET", f"/train/{job}")
        seen = (body.get("status"), body.get("secondary_status"), json.dumps(body.get("metrics", {})))
        if seen != last:
            print(
                f"  {body.get('status')}/{body.get('secondary_status')} metrics={seen[2][:160]}", flush=True
            )
            last = seen
        if body.get("status") not in {"InProgress", "Stopping"}:
            break
        time.sleep(2)
    if body.get("status") != "Completed":
        print(f"  job ended {body.get('status')}: {body.get('failure_reason')}")
        return None
    training.wait(job, timeout_s=120)

    step("Promotion: the gate decides whether the new model reaches /infer")
    outcome = None
    for event, results in training.deliveries:
        if event["detail"]["TrainingJobName"] == job and event["detail"]["TrainingJobStatus"] == "Completed":
            for delivery in results:
                outcome = delivery.result or {"error": delivery.error}
                print(f"  {delivery.target}: {json.dumps(outcome)[:400]}")
    status, models = api.json("GET", "/models")
    print(f"  GET /models -> {status} {json.dumps(models)[:400]}")
    if outcome and outcome.get("outcome") == "rejected":
        # The usual ending on a fresh stack: two CPU epochs do not beat the shipped model.
        print(f"  the gate refused it: {'; '.join(outcome['gate']['reasons'])}")
        print(f"  (a person may still serve it: POST /models/{job}/promote)")
    return job if outcome and outcome.get("outcome") == "promoted" else None


def infer(api: Client, step: Step, args: argparse.Namespace) -> int:
    """POST /infer a fresh invoice page; print the fields; write the annotated image."""
    step("POST /infer: a sample invoice the model has never seen")
    page = sample_page(args.seed)
    sample = args.out / "sample_invoice.jpg"
    page.image.save(sample, quality=90)
    data = sample.read_bytes()
    # Detections only first (fields=0: the detector alone, its own classes and speed); then the
    # default answer, where the label words name the date rows the detector proposed.
    status, _, out = api.call("POST", "/infer?fields=0", data, {"Content-Type": "image/jpeg"})
    body = json.loads(out)
    if status != 200:
        print(f"  {status} {body}")
        return 1
    print(f"  model {json.dumps(body['model'])}")
    alone = missed_fields(body["detections"], page.boxes)
    where = f"; missed: {', '.join(alone)}" if alone else ""
    print(
        f"  POST /infer?fields=0 (the detector alone): {len(page.boxes) - len(alone)}/{len(page.boxes)} "
        f"fields on their boxes{where}; timings_ms {body['timings_ms']}"
    )
    status, _, out = api.call("POST", "/infer", data, {"Content-Type": "image/jpeg"})
    read = json.loads(out)
    if status != 200:
        print(f"  {status} {read}")
        return 1
    print(
        "  POST /infer (the default answer): the detector proposes, the label words decide "
        "(the two dates are one row shape to it)"
    )
    print(f"  {'field':<18} {'conf':>5}  box (x1, y1, x2, y2) in pixels of the {page.image.size} page")
    for det in sorted(read["detections"], key=lambda d: (d["box"]["y1"], d["box"]["x1"])):
        box = det["box"]
        said = ""
        if "detector_label" in det:  # a date row the words named: what the detector said of it alone
            said = f"  (detector alone: {det['detector_label']} {det['detector_confidence']:.2f})"
        print(
            f"  {det['label']:<18} {det['confidence']:>5.2f}  ({box['x1']:.0f}, {box['y1']:.0f}, "
            f"{box['x2']:.0f}, {box['y2']:.0f}){said}"
        )
    missed = missed_fields(read["detections"], page.boxes)
    where = f"; missed: {', '.join(missed)}" if missed else ""
    print(
        f"  fields found: {len(page.boxes) - len(missed)}/{len(page.boxes)} (its class at IoU >= 0.5 with"
        f" the page's own box){where}"
    )
    if page.content is not None:
        print(
            f"  the values read ({', '.join(read['read']['sources'])}, "
            f"{read['timings_ms'].get('read', 0):.0f} ms to read) next to what the page prints:"
        )
        for name, printed in _printed(page.content):
            got = (read.get("fields") or {}).get(name)
            value = "-" if got is None else str(got.get("value"))
            flag = "" if got is None or got.get("valid", True) else "  (fails its check)"
            print(f"  {name:<18} {value:<24} printed: {printed}{flag}")
        print(f"  checks {read.get('checks')}; needs_review {read.get('needs_review')}")

    pdf, printed = born_digital_invoice(args.seed + 30_000)
    (args.out / "born_digital_invoice.pdf").write_bytes(pdf)
    status, _, out = api.call("POST", "/infer", pdf, {"Content-Type": "application/pdf"})
    read = json.loads(out)
    if status == 200:
        print(
            f"  and a born-digital PDF ({', '.join(read['read']['sources'])}: its text layer, no OCR; "
            f"{read['timings_ms'].get('read', 0):.0f} ms to read):"
        )
        for name, text in _printed(printed):
            got = (read.get("fields") or {}).get(name)
            print(f"  {name:<18} {'-' if got is None else str(got.get('value')):<24} printed: {text}")

    status, _, jpeg = api.call("POST", "/infer", data, {"Content-Type": "image/jpeg", "Accept": "image/jpeg"})
    annotated = args.out / "annotated.jpg"
    if status == 200:
        annotated.write_bytes(jpeg)
        print(f"  annotated image, the values beside their boxes -> {annotated}")
    bad_status, _, bad = api.call("POST", "/infer", b"not an image", {"Content-Type": "image/jpeg"})
    print(f"  and a bad request gets a clear 4xx: {bad_status} {bad.decode()[:160]}")
    return 0


def inbox(aws: Any, api: Client, step: Step, args: argparse.Namespace) -> int:
    """Invoices in bulk: drop a handful into the inbox, let the queue worker read them, list them."""
    step("Invoices in bulk: 4 invoices, a re-upload and a text file dropped under inbox/")
    s3, bucket = aws.client("s3"), aws.name("InvoicesBucket")
    names = []
    for number in range(4):
        path = args.out / f"inbox_{number}.jpg"
        render_invoice(args.seed + 20_000 + number).image.save(path, quality=90)
        names.append((f"inbox/batch-1/invoice-{number}.jpg", path.read_bytes()))
    names.append(("inbox/batch-1/invoice-0-again.jpg", names[0][1]))  # the same bytes again
    names.append(("inbox/batch-1/notes.txt", b"call the supplier about the March invoice"))
    for key, data in names:
        s3.put_object(Bucket=bucket, Key=key, Body=data)
    print(f"  s3://{bucket}/inbox/batch-1/: {len(names)} objects -> EventBridge -> the invoice queue")
    tally = aws.poller("ProcessInvoiceFunction").drain()
    print(f"  queue worker: {tally.messages} messages in {tally.batches} batch(es), {tally.failed} failed")
    shown, first_done = 0, None
    for status in ("done", "needs_review", "rejected"):
        code, body = api.json("GET", f"/invoices?status={status}")
        for item in body.get("invoices", []) if code == 200 else []:
            found = ", ".join(sorted(item.get("fields", {}))) or "-"
            reason = f"  ({item['error']['code']})" if item.get("error") else ""
            print(f"  {item['source']['key']:<36} {status:<12} key fields found: {found}{reason}")
            shown += 1
            first_done = first_done or item["id"]
    print(f"  {shown} results for {len(names)} objects: the re-upload was recognised as the same invoice")
    if first_done:
        code, one = api.json("GET", f"/invoices/{first_done}")
        stored = "with" if one.get("result") else "without"
        print(f"  GET /invoices/{first_done} -> {code} {one.get('status')}, {stored} its stored answer")
    return 0


def sample_page(seed: int = DEFAULT_SEED) -> Any:
    """The page `make demo` sends to POST /infer: `render_invoice` of its own seed, not a dataset page."""
    return render_invoice(seed + 10_000)


def missed_fields(detections: list[dict[str, Any]], truth: Sequence[Any]) -> list[str]:
    """The page's fields without a detection of their class at IoU >= 0.5 (a date found under the
    other date's name counts as missed), in the page's order."""
    missed = []
    for field in truth:
        true = (field.x1, field.y1, field.x2, field.y2)
        if not any(
            d["label"] == field.name
            and box_iou(tuple(d["box"][k] for k in ("x1", "y1", "x2", "y2")), true) >= 0.5
            for d in detections
        ):
            missed.append(field.name)
    return missed


def _printed(inv: Any) -> list[tuple[str, str]]:
    """The key fields as the generator printed them (the truth for the demo's comparison)."""
    rows = [
        ("invoice_number", inv.number),
        ("invoice_date", inv.issued),
        ("due_date", inv.due),
        ("total_amount", inv.total),
    ]
    names = {
        "ocr": "payment_reference",
        "reference": "payment_reference",  # an English payment block's reference line
        "bankgiro": "bankgiro",
        "plusgiro": "plusgiro",
        "iban": "iban",
    }
    for label, value in inv.payment_lines:
        key = next((v for k, v in names.items() if k in label.lower()), None)
        if key and all(key != r[0] for r in rows):
            rows.append((key, value))
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo."""
    parser = argparse.ArgumentParser(
        prog="python -m devkit demo",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="skip training; serve the shipped model")
    parser.add_argument("--pages", type=int, default=32, help="training pages to generate")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--imgsz", type=int, default=512)
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--out", type=Path, default=ROOT / "build" / "demo")
    parser.add_argument("--logs", action="store_true", help="show the functions' logs here (default: a file)")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    step = Step(3 if args.quick else 8)
    step("Starting the embedded stack: moto server from template.yaml, local SageMaker, local API")
    log_path = args.out / "functions.log"
    with (
        log_path.open("w", encoding="utf-8") as log_file,
        running_stack({}, function_logs=None if args.logs else log_file) as (aws, training, api),
    ):
        buckets = sorted(aws.name(b) for b in aws.stack.of_type("AWS::S3::Bucket"))
        print(f"  API on {api.base}; buckets: {', '.join(buckets)}")
        if not args.logs:
            print(f"  the functions' logs and metrics (as CloudWatch would get them) -> {log_path}")
        if not args.quick:
            version = train(aws, training, api, step, args)
            print(f"  promoted: {version}" if version else "  not promoted: /infer keeps its current model")
        failed = infer(api, step, args)
        return failed or inbox(aws, api, step, args)


def serve_main(argv: Sequence[str] | None = None) -> int:
    """`python -m devkit serve`: the whole local stack until Ctrl-C (like `sam local start-api`)."""
    parser = argparse.ArgumentParser(prog="python -m devkit serve")
    parser.add_argument("--port", type=int, default=3000)
    args = parser.parse_args(argv)
    with running_stack({}, port=args.port) as (aws, _, api):
        print(f"Local stack on {api.base} (moto at {aws.endpoint_url}); routes from template.yaml:")
        for route in aws.local_api().routes:
            print(f"  {route.method:6} {api.base}{route.path}  -> {route.function_id}")
        print("Ctrl-C stops.", flush=True)
        with suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0
