"""Running untrusted submissions: the runner interface, the sandboxed worker and a test double."""
