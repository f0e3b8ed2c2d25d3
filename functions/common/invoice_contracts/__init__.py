"""Contracts between the deployed parts: what the generator, training's data, serving and the
functions must agree on (today: the field registry, `fields`). Pure Python (no numpy, no AWS),
shipped beside `apiedge`: copied into the inference image and importable from every source root."""
