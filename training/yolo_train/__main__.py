"""`python -m yolo_train ...`: the same as `python train.py ...`."""

from __future__ import annotations

import sys

from yolo_train.main import main

sys.exit(main())
