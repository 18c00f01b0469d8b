"""File formats of documents: `documents` (the document model: passages at document-level
offsets, the tagger's input), `readers` (PubTator, BioC XML and BioC JSON in; format detection),
`writers` (the `DocumentWriter` interface; JSON lines, CoNLL and PubTator out of the records of
`hsl_bioner_runtime.entities`) and `bioc_writers` (BioC XML and BioC JSON out)."""
