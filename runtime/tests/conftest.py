"""Tests of the runtime run without torch, transformers or allennlp installed."""
