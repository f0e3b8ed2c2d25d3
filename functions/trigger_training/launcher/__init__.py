"""Training API: launch and report SageMaker Managed Spot training jobs (`POST/GET /train`)."""
