"""Classifiers: the frozen zoo whose logits are inverted (`zoo`), and the
adversarial attacks used to train and evaluate robust ones (`adversarial`)."""
