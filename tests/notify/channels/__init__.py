"""Tests of each channel kind and of the channels.yaml loader, as the package is split."""
