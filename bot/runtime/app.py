"""The composition root: builds the python-telegram-bot Application, wires services and handlers."""

from __future__ import annotations

import logging

from telegram import BotCommand, LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import (
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot.chat import admin, commands, confirm, handlers, money, workorders
from bot.chat.status import RateBudget
from bot.quality import telegram as quality
from bot.runtime.services import Wiring, build_services, close_services
from bot.runtime.settings import AppSettings
from bot.updates import ChatOrderedProcessor

log = logging.getLogger(__name__)

COMMANDS = [
    BotCommand("start", "What I do and your free photos"),
    BotCommand("help", "What to send, the buttons, plans and commands"),
    BotCommand("workorders", "Your recent work orders"),
    BotCommand("usage", "Your free photos and plan"),
    BotCommand("upgrade", "Unlimited photos with Telegram Stars"),
    BotCommand("language", "The language I answer in"),
    BotCommand("paysupport", "Help with payments"),
]

IMAGE_DOCUMENT = (
    filters.Document.IMAGE | filters.Document.FileExtension("heic") | filters.Document.FileExtension("heif")
)


def build_application(settings: AppSettings, *, wiring: Wiring | None = None) -> Application:  # type: ignore[type-arg]
    """The embedded bot's application; with ``wiring``, a fleet worker's (no updater, no job queue)."""
    token = settings.bot.telegram_bot_token
    assert token is not None, "check settings.bot.token_problem() first"
    api = settings.bot.telegram_api_url

    async def post_init(app: Application) -> None:  # type: ignore[type-arg]
        app.bot_data["services"] = await build_services(settings, app, wiring)
        await app.bot.set_my_commands(COMMANDS)

    async def post_shutdown(app: Application) -> None:  # type: ignore[type-arg]
        services = app.bot_data.pop("services", None)
        if services is not None:
            await close_services(services)

    builder = (
        ApplicationBuilder()
        .token(token.get_secret_value().strip())
        .base_url(f"{api}/bot")
        .base_file_url(f"{api}/file/bot")
        .defaults(Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .post_init(post_init)
        .post_shutdown(post_shutdown)
    )
    if wiring is None:
        builder.rate_limiter(RateBudget(messages_per_s=settings.bot.telegram_rate_limit))  # every call naming a chat
        builder.concurrent_updates(ChatOrderedProcessor())  # chats concurrently, each chat in order (bot/updates/)
    else:  # updates arrive as jobs, in chat order by the queue's locks; periodic work is the queue's too
        builder.rate_limiter(wiring.rate_limiter).updater(None).job_queue(None)
    application = builder.build()
    register_handlers(application)
    if wiring is None:  # (reading job_queue where there is none only warns)
        assert application.job_queue is not None, "python-telegram-bot[job-queue] is a dependency"
        poll = settings.bot.outbox_poll_s
        application.job_queue.run_repeating(workorders.outbox_job, interval=poll, first=poll, name="outbox")
        interval = money.ALERT_INTERVAL_S
        application.job_queue.run_repeating(money.alerts_job, interval=interval, first=interval, name="alerts")
    return application


def register_handlers(app: Application) -> None:  # type: ignore[type-arg]
    app.add_handler(TypeHandler(Update, handlers.gate), group=-1)
    commands.register(app, admin_commands=[*admin.COMMANDS, "outbox", "quality", "whatif", "reviews"])
    app.add_handler(MessageHandler(filters.PHOTO | IMAGE_DOCUMENT, handlers.on_photo))
    app.add_handler(CallbackQueryHandler(handlers.on_recheck, pattern=r"^r[ecn]:"))
    app.add_handler(CallbackQueryHandler(workorders.on_button, pattern=r"^wo:[cd]:"))
    quality.register(app)  # its vote buttons before the catch-all below
    app.add_handler(CallbackQueryHandler(confirm.on_confirm, pattern=r"^cf:"))
    app.add_handler(CallbackQueryHandler(handlers.on_unknown_button))  # any other data: answered, never spins
    app.add_handler(CommandHandler("workorders", workorders.my_work_orders))
    app.add_handler(CommandHandler("outbox", admin.admin_only(workorders.outbox_admin)))
    money.register(app)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, handlers.not_a_photo))
    app.add_error_handler(handlers.on_error)
