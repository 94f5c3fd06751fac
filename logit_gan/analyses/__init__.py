"""Experiments on what a classifier's logits keep: one module per analysis
(`logit_probe`), and the statistics they share (`stats`)."""
