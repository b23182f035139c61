"""Assembly and I/O: app, config, HTTP/Socket Mode server, ticker, delivery, directory, logging, CLI."""
