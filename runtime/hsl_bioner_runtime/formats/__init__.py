"""File formats of tagged documents: `writers` turns document records (see
`hsl_bioner_runtime.entities`) into JSON lines, CoNLL and PubTator."""
