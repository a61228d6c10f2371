"""The fleet: several processes on several machines sharing one PostgreSQL database (the embedded bot is one
process on SQLite, ``plc-copilot run``).

- ``ingress``: ``plc-copilot web``, the webhook endpoint — checks Telegram's secret, records the update in the
  inbox and defers its job in one transaction, answers 200 at once;
- ``queue``: the Procrastinate app and how update and album jobs are deferred (``lock="chat:<id>"``);
- ``worker``, ``tasks``, ``runner``, ``albums``: ``plc-copilot worker``, running those jobs through the bot's
  own handlers, plus the periodic work once per period fleet-wide;
- ``shared``, ``nearsync``: what workers share through PostgreSQL — tier breakers and call slots, Telegram's
  message rate, and every worker's near-duplicate index learning the others' analyses;
- ``commands``: the CLI entry points (``web``, ``worker``, ``set-webhook``).

The deployment guide (processes, sizing, reverse proxy, PgBouncer) is in the README.
"""
