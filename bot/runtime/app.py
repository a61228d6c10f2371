"""The composition root: builds the python-telegram-bot Application, wires services and handlers."""

from __future__ import annotations

import logging

from telegram import Bot, BotCommand, LinkPreviewOptions, Update
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

from bot import i18n
from bot.chat import admin, commands, confirm, handlers, money, questions, workorders
from bot.chat.status import RateBudget
from bot.i18n import N_
from bot.quality import telegram as quality
from bot.runtime.services import Wiring, build_services, close_services
from bot.runtime.settings import AppSettings
from bot.updates import ChatOrderedProcessor

log = logging.getLogger(__name__)

# The "/" menu, set once per language (Telegram shows the one matching the user's app language_code).
COMMANDS = [
    ("start", N_("What I do and your free photos")),
    ("help", N_("What to send, the buttons, plans and commands")),
    ("workorders", N_("Your recent work orders")),
    ("usage", N_("Your free photos and plan")),
    ("upgrade", N_("Unlimited photos with Telegram Stars")),
    ("language", N_("The language I answer in")),
    ("paysupport", N_("Help with payments")),
]


def command_menu(tr: i18n.Translator) -> list[BotCommand]:
    return [BotCommand(name, tr.gettext(description)) for name, description in COMMANDS]


async def set_command_menus(bot: Bot) -> None:
    """The default menu in English, and one per supported language for users whose Telegram uses it."""
    await bot.set_my_commands(command_menu(i18n.translator("en")))
    for code in i18n.LANGUAGES:
        if code != "en":
            await bot.set_my_commands(command_menu(i18n.translator(code)), language_code=code)


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
        await set_command_menus(app.bot)

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
    # Text: a follow-up replying to a card (groups too), or a question about equipment (private chats); replies
    # that are not follow-ups go on to bot/quality (corrections, review replies) from inside questions.on_text.
    text = filters.TEXT & ~filters.COMMAND & (filters.ChatType.PRIVATE | filters.REPLY)
    app.add_handler(MessageHandler(text & ~filters.StatusUpdate.ALL, questions.on_text))
    quality.register(app)  # its vote buttons before the catch-all below
    app.add_handler(CallbackQueryHandler(confirm.on_confirm, pattern=r"^cf:"))
    app.add_handler(CallbackQueryHandler(handlers.on_unknown_button))  # any other data: answered, never spins
    app.add_handler(CommandHandler("workorders", workorders.my_work_orders))
    app.add_handler(CommandHandler("outbox", admin.admin_only(workorders.outbox_admin)))
    money.register(app)
    app.add_handler(MessageHandler(filters.ChatType.PRIVATE & ~filters.StatusUpdate.ALL, handlers.not_a_photo))
    app.add_error_handler(handlers.on_error)
