"""Everything that touches a MeasurementSet (python-casacore)."""
from .metadata import MSMetadata, check_is_ms, read_metadata, short_intents  # noqa: F401
from .model import write_model  # noqa: F401
from .reader import Chunk, iter_chunks, selected_rows  # noqa: F401
from .select import Selection, select  # noqa: F401
