"""The respond room: a read document -> the wire format (`render.render_json`, `render.render_jpeg`;
`draw` paints the annotated image, `schema` is the answer's pydantic contract)."""
