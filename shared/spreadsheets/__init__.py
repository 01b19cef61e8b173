"""Reading and writing spreadsheets safely (imports, exports, templates)."""
