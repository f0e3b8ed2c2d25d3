"""Pooled rows: the detector proposes a row, the label words name it.

Fields of one row shape (the field registry's `shape`: an invoice date and a due date are the same
one-line key-value row) are one proposal to the reader. For a read, the detector scores such a
group as one class (`invoice_core.detect.postprocess`, "Pooled classes"); once the values are
decided, `name_rows` gives each pooled row the name of the value it holds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from invoice_contracts.fields import same_shape_groups
from invoice_core.detect.analyse import Page
from invoice_core.detect.postprocess import Detections, pooled_ids
from invoice_core.read.words import Box, Region, regions_from


def name_rows(
    pages: Sequence[Page], fields: dict[str, Any], names: Sequence[str], *, conf: float
) -> list[Page]:
    """The pages with their pooled rows named by the decided values: a date row holding the value
    the reader found under "Due date" is `due_date`, whichever date the detector called it, and
    keeps the pooled score. A pooled row holding no decided value of its group falls back to the
    detector's own class and score, and is dropped where that alone does not pass `conf`. The
    detector's own label and score stay on the detections (`proposed_ids`, `own_scores`).
    Pages with nothing pooled come back as they are."""
    groups = pooled_ids(same_shape_groups(), names)
    out: list[Page] = []
    for number, page in enumerate(pages, start=1):
        found = page.detections
        if found.own_scores is None or not groups:  # nothing pooled on this page
            out.append(page)
            continue
        ids, scores = found.class_ids.copy(), found.scores.copy()
        keep = np.ones(len(found), dtype=bool)
        regions = page_regions(page, names, number)
        for group in groups:
            decided = [
                (class_id, Box(**got["box"]))
                for class_id in group
                if (got := fields.get(names[class_id])) is not None
                and got.get("page") == number
                and got.get("box") is not None
            ]
            for k, region in enumerate(regions):
                if int(ids[k]) not in group:
                    continue
                held = {cid for cid, box in decided if region.box.contains_centre(box)}
                if len(held) == 1:
                    ids[k] = held.pop()
                else:
                    scores[k] = found.own_scores[k]
                    keep[k] = found.own_scores[k] > conf
        order = np.argsort(-scores[keep], kind="stable")  # best first, as postprocess leaves them
        named = Detections(
            found.boxes[keep][order],
            scores[keep][order],
            ids[keep][order],
            own_scores=found.own_scores[keep][order],
            proposed_ids=found.class_ids[keep][order],
        )
        out.append(replace(page, detections=named))
    return out


def page_regions(page: Page, names: Sequence[str], number: int = 1) -> list[Region]:
    """The page's detections as regions in its reporting frame (the decoded image's original pixels)."""
    sx, sy = page.image.scale
    boxes = page.detections.boxes * np.array([sx, sy, sx, sy], dtype=np.float32)
    return regions_from(boxes, page.detections.scores, page.detections.class_ids, names, page=number)
