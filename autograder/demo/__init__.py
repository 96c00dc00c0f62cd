"""The demo class: realistic and hostile submissions made from the release."""
