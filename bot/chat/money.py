"""Wiring of plans, payments, budgets and admin money commands into the Application: one ``register(app)``.

Kept apart from ``bot/runtime/app.py`` so the composition root gains one line. Handlers are added before the catch-all
"not a photo" handler; the successful-payment service message and the pre-checkout query get their own
handlers; ``alerts_job`` evaluates the admin alerts, every ``ALERT_INTERVAL_S`` in the embedded bot (scheduled in
``bot/runtime/app.py``) or once per period fleet-wide (``bot/fleet/tasks.py``); the per-settle spend check catches
the rest sooner.
"""

from __future__ import annotations

import logging
from typing import cast

from telegram.ext import Application, CommandHandler, ContextTypes, MessageHandler, PreCheckoutQueryHandler, filters

from bot.accounts import payments
from bot.chat import admin
from bot.runtime.services import Services

log = logging.getLogger(__name__)

ALERT_INTERVAL_S = 300.0


def register(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(CommandHandler("paysupport", payments.paysupport))
    app.add_handler(PreCheckoutQueryHandler(payments.on_pre_checkout))
    app.add_handler(MessageHandler(filters.SUCCESSFUL_PAYMENT, payments.on_successful_payment))
    for name, handler in admin.COMMANDS.items():
        app.add_handler(CommandHandler(name, handler))


async def alerts_job(context: ContextTypes.DEFAULT_TYPE) -> None:
    services = cast(Services | None, context.application.bot_data.get("services"))
    if services is None or services.alerts is None:
        return
    try:
        await services.alerts.check_all()
    except Exception:
        log.exception("alert check failed")
