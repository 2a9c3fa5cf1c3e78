"""Entry points: parse the request or event, call one service, map errors to responses."""
