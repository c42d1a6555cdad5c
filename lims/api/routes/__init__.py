"""The API's routes, one module per area, each an ``APIRouter`` mounted under ``/api/v1``."""
