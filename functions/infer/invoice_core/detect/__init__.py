"""The detect wing: bytes -> page images -> the detector's proposals (decode, render, letterbox, run,
post-process). It knows nothing of words or field values."""
