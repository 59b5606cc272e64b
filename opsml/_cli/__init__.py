"""The parts of the ``opsml`` command: shared helpers, the card commands, command plugins."""
