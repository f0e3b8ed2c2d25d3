"""The read wing: a page's words (text layer or OCR) and the detector's proposals -> checked field
values. The detector proposes, the words decide."""
