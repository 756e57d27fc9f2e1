"""EPCIS 2.0 JSON-LD ingest: parse, validate (GS1 schema + CBV vocabulary), map to records."""
