"""tpkit: validate trigger point muscle entries and export them as DOCX, PDF and JSON bundles."""

__version__ = "0.1.0"
