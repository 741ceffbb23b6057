"""Configuration files: strict parsing (``schema``), cross-checking and freezing (``loader``)."""

from llm_gateway.config.catalog import Catalog, ProviderConfig
from llm_gateway.config.loader import load_catalog, validate_config_dir

__all__ = ["Catalog", "ProviderConfig", "load_catalog", "validate_config_dir"]
