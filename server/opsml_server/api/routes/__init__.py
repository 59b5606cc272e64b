"""One ``APIRouter`` per resource; ``opsml_server.app`` wires them."""
