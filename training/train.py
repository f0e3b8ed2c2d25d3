"""SageMaker entry point (sagemaker_program=train.py): `python train.py --key value ...`.

Runs the same locally; `python train.py --help` lists every flag and hyperparameter.
"""

from __future__ import annotations

import sys

from yolo_train.main import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
