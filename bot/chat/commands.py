"""The user's own commands, answered in their language: /start, /help, /usage, /upgrade, /language.

Thin handlers: they read where the user stands and which language they read, and reply with text from
``bot/chat/replies.py``. /language stores the choice on the user row (None follows Telegram's language_code).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import cast

from sqlalchemy import select, update
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import i18n
from bot.accounts import payments, questions
from bot.chat import replies
from bot.runtime.models import User
from bot.runtime.services import Services

AUTO = "auto"


def _services(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast(Services, context.application.bot_data["services"])


def register(app: Application, *, admin_commands: list[str]) -> None:  # type: ignore[type-arg]
    app.bot_data["admin_commands"] = admin_commands
    app.add_handler(CommandHandler("start", start))
    app.add_handler(CommandHandler("help", help_command))
    app.add_handler(CommandHandler("usage", usage))
    app.add_handler(CommandHandler("upgrade", upgrade))
    app.add_handler(CommandHandler("language", language))
    app.add_handler(CallbackQueryHandler(on_language_button, pattern=r"^lang:"))


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    tr = await services.translator(user.id)
    await message.reply_text(replies.welcome(tr, await services.standing(user.id)))


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    settings = services.settings.bot
    text = replies.help_text(
        await services.translator(user.id),
        free_photos=settings.free_photos,
        stars_price=settings.stars_monthly_price,
        auto_work_order=settings.auto_work_order,
        admin_commands=context.bot_data.get("admin_commands") if services.is_admin(user.id) else None,
    )
    await message.reply_text(text)


async def usage(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/usage: where the user stands, without a free count beside an unlimited plan; on the free plan, also the
    questions left today (bot/accounts/questions.py)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    settings = services.settings.bot
    tr = await services.translator(user.id)
    standing = await services.standing(user.id)
    left = None
    if standing.plan == "free":
        async with services.sessions() as session:
            left = await questions.left_today(
                session, user_id=user.id, limit=settings.free_questions_per_day, now=datetime.now(UTC)
            )
    text = replies.usage(
        tr, standing, limit=settings.free_photos, questions_limit=settings.free_questions_per_day, questions_left=left
    )
    await message.reply_text(text)


async def upgrade(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/upgrade: the subscription invoice, or where the user's plan stands."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    tr = await services.translator(user.id)
    standing = await services.standing(user.id)
    if standing.plan == "admin":
        await message.reply_text(replies.standing_line(tr, standing))
        return
    if standing.plan == "paid" and standing.paid_until is not None:
        await message.reply_text(replies.already_paid(tr, standing.paid_until))
        return
    markup = await payments.upgrade_markup(context.bot, services, user.id)
    await message.reply_text(replies.upgrade_offer(tr, services.settings.bot.stars_monthly_price), reply_markup=markup)


def language_keyboard(tr: i18n.Translator) -> InlineKeyboardMarkup:
    names = [InlineKeyboardButton(name, callback_data=f"lang:{code}") for code, name in i18n.LANGUAGES.items()]
    automatic = InlineKeyboardButton(replies.language_automatic_button(tr), callback_data=f"lang:{AUTO}")
    return InlineKeyboardMarkup([names[:2], names[2:], [automatic]])


async def language(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/language shows the choice as buttons; /language es (or auto) sets it at once."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    services = _services(context)
    args = [a.lower() for a in context.args or []]
    if not args:
        async with services.sessions() as session:
            chosen = await session.scalar(select(User.language).where(User.id == user.id))
            tr = await i18n.translator_for(session, user.id, user.language_code)
        await message.reply_text(
            replies.language_menu(tr, automatic=chosen is None), reply_markup=language_keyboard(tr)
        )
        return
    if len(args) != 1 or (args[0] not in i18n.LANGUAGES and args[0] != AUTO):
        await message.reply_text(replies.language_unknown(await services.translator(user.id)))
        return
    await message.reply_text(replies.language_set(await _store(services, user.id, args[0])))


async def on_language_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query, user = update.callback_query, update.effective_user
    assert query is not None and query.data is not None and user is not None
    code = query.data.partition(":")[2]
    if code not in i18n.LANGUAGES and code != AUTO:
        await query.answer()
        return
    tr = await _store(_services(context), user.id, code)
    await query.answer()
    if isinstance(query.message, Message):
        await query.message.edit_text(replies.language_set(tr))


async def _store(services: Services, user_id: int, code: str) -> i18n.Translator:
    """Store the choice (``auto``: follow Telegram again) and return the translator it leads to."""
    async with services.sessions.begin() as session:
        await session.execute(
            update(User)
            .where(User.id == user_id)
            .values(language=None if code == AUTO else code, last_seen_at=datetime.now(UTC))
        )
        chosen = await i18n.translator_for(session, user_id)
    services.language_changed(user_id, chosen)
    return chosen
