"""HTTP routes, thin: parse, call one service, shape the answer."""
