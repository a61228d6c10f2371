"""The Telegram face: handlers, commands, replies, cards and what they render."""
