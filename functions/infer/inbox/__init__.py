"""The queue adapter of the inference image: invoices dropped under `inbox/` of the invoices bucket
reach SQS (S3 -> EventBridge -> SQS) and this package reads them with the same core as `POST /infer`,
storing each answer in S3 and DynamoDB and announcing it on EventBridge."""
