"""Telegram handlers: thin. They validate, acknowledge at once, and do the photo work in the update's own turn
(bot/updates/ runs chats concurrently and each chat in order, so a slow analysis delays no one else)."""

from __future__ import annotations

import contextlib
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import cast

from telegram import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError
from telegram.ext import ApplicationHandlerStop, ContextTypes

from bot import i18n
from bot.accounts import payments, quota, ratelimit
from bot.chat import cards, confirm, delivery, lanes, questions, render, replies, workorders
from bot.chat.cards import CardTicket
from bot.chat.evidence import provenance
from bot.chat.status import ACK_AFTER_S, ProgressEdits, StatusLine, edit
from bot.i18n import translator
from bot.quality import buttons as quality_buttons
from bot.quality import telegram as quality_telegram
from bot.runtime.logs import correlation_id
from bot.runtime.queues import PhotoRef
from bot.runtime.services import Services
from bot.updates import inbox
from cmmsconnect import OutboxEntry, Reporter
from pipeline import AnalysisFailed, IntakeError, NoTierAvailable, Progress, Result
from pipeline.sanitize import clean_text

log = logging.getLogger(__name__)

TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the cloud Bot API serves files up to 20 MB

SOMETHING_WRONG = "😕 Something went wrong on my side. Your free photo was not used; please try again."
COMMAND_FAILED = "😕 Something went wrong on my side. Please try again in a moment."


def services_of(context: ContextTypes.DEFAULT_TYPE) -> Services:
    return cast(Services, context.application.bot_data["services"])


async def gate(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """group=-1: correlation id, one log line per update, and the user row on first contact."""
    correlation_id.set(f"u{update.update_id}")
    user = update.effective_user
    kind = _kind(update)
    log.info("update %s from user %s: %s", update.update_id, user.id if user else "-", kind)
    if user is None or user.is_bot:
        raise ApplicationHandlerStop
    edited = update.edited_message or update.edited_channel_post or update.edited_business_message
    if edited is not None:  # an edited /grant or caption must not act a second time (PTB passes edits on)
        log.info("edit of message %s ignored", edited.message_id)
        if edited.chat.type == ChatType.PRIVATE:
            with contextlib.suppress(TelegramError):
                tr = await services_of(context).translator(user.id)
                await edited.reply_text(tr.gettext(render.EDIT_IGNORED))
        raise ApplicationHandlerStop
    services = services_of(context)
    services.begin_update()
    profile = quota.Profile(user.first_name, user.username, user.language_code)
    now = datetime.now(UTC)
    if not services.known_users.needs_touch(user.id, profile, now):
        return  # a known user, unchanged: no write on every update
    await services.touches.submit(quota.Touch(user.id, profile, now))  # a crowd's first contacts, one write
    services.known_users.touched(user.id, profile, now)


def _kind(update: Update) -> str:
    message = update.effective_message
    if update.callback_query:
        return "button"
    if message is None:
        return "other"
    for attr in ("photo", "document", "text", "voice", "sticker", "video", "audio", "video_note", "animation"):
        if getattr(message, attr, None):
            return attr
    return "message"


async def not_a_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    if update.effective_message is not None and update.effective_user is not None:
        tr = await services_of(context).translator(update.effective_user.id)
        await update.effective_message.reply_text(tr.gettext(render.NOT_A_PHOTO))


async def on_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or an image file: acknowledge it, then analyse and answer (in this chat's order, other chats run)."""
    message, user = update.effective_message, update.effective_user
    assert message is not None and user is not None
    lanes.LANE.set(lanes.PHOTO)  # this update's messages queue behind other users' commands (bot/chat/lanes.py)
    services = services_of(context)
    if message.photo:
        size = message.photo[-1]
        ref = PhotoRef(size.file_id, size.file_size, message.message_id)
    else:
        assert message.document is not None
        ref = PhotoRef(message.document.file_id, message.document.file_size, message.message_id)
    chat_id, update_id = message.chat_id, update.update_id
    cid = correlation_id.get()
    tr = await services.translator(user.id)

    if message.media_group_id:
        album, is_new = services.albums.add(chat_id, message.media_group_id, ref, message.caption)
        if not is_new:  # the album's first item answers for it; this update is done when that answer is
            album.finishers.append(services.updates.keep_open(update_id))
            return
        limited = await _too_fast(services, message, user.id)
        album_status = tr.gettext(render.ALBUM_STATUS)
        status = None if limited else await _acknowledge(services, message, update_id, album_status, tr)
        services.updates.let_chat_continue(update_id)  # the album's later items must get in while we collect
        complete = await services.albums.complete(album)
        try:
            if status is not None:
                if complete.extra:
                    await status.reply_text(render.album_extra(tr, len(complete.refs), complete.extra))
                await process(
                    services, context, user.id, chat_id, complete.refs, complete.caption,
                    StatusLine(None, message=status), cid=cid, update_id=update_id,
                )  # fmt: skip
        finally:
            for finish in complete.finishers:
                await finish()
        return

    if await _too_fast(services, message, user.id):
        return
    if services.updates.resumed_status(update_id) is not None:
        analyzing = tr.gettext(render.ANALYZING)
        line = StatusLine(None, message=await _acknowledge(services, message, update_id, analyzing, tr))
    else:  # acknowledged once it needs a model, or after ACK_AFTER_S; a cache hit sends only its card
        line = StatusLine(
            message,
            ack_text=tr.gettext(render.ANALYZING),
            on_ack=lambda message_id: services.updates.note_status(update_id, message_id),
        )
        line.acknowledge_after(ACK_AFTER_S)
    try:
        await process(services, context, user.id, chat_id, [ref], message.caption, line, cid=cid, update_id=update_id)
    finally:
        line.close()


async def _acknowledge(services: Services, message: Message, update_id: int, text: str, tr: i18n.Translator) -> Message:
    """The status message: new, or after a restart the one the interrupted attempt left (edited, not resent)."""
    resumed = services.updates.resumed_status(update_id)
    with lanes.first_message():
        if resumed is not None:
            try:
                edited = await message.get_bot().edit_message_text(
                    tr.gettext(render.RESUMED, text=text), chat_id=message.chat_id, message_id=resumed
                )
                if isinstance(edited, Message):
                    return edited
            except TelegramError:
                log.warning("could not reuse status message %s; sending a new one", resumed, exc_info=True)
        status = await message.reply_text(text)
    await services.updates.note_status(update_id, status.message_id)
    return status


async def on_unknown_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Button data we never made (an old keyboard, a forged callback): answered, so the client stops spinning."""
    if update.callback_query is not None:
        log.info("unknown button data %r", (update.callback_query.data or "")[:64])
        tr = await services_of(context).translator(update.callback_query.from_user.id)
        await update.callback_query.answer(tr.gettext(render.UNKNOWN_BUTTON), show_alert=True)


async def _too_fast(services: Services, message: Message, user_id: int) -> bool:
    """The per-user rate limit (admins excepted); True when the user was told to wait."""
    if services.is_admin(user_id):
        return False
    wait = await services.rate.check(user_id)
    if wait is None:
        return False
    log.info("user %s over %d photos a minute", user_id, services.rate.per_minute)
    await message.reply_text(ratelimit.too_fast(await services.translator(user_id), services.rate.per_minute, wait))
    return True


async def on_recheck(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """``re:`` the card's button; on the free plan it first asks (``rc:`` yes, ``rn:`` keep), since it counts."""
    query = update.callback_query
    assert query is not None and query.data is not None and update.effective_user is not None
    services = services_of(context)
    action, _, rest = query.data.partition(":")
    token, _, card_id = rest.partition(":")  # rc:/rn: carry the card's message id after the token
    user_id = update.effective_user.id
    tr = await services.translator(user_id)
    seen = await cards.get(services.sessions, token)
    if seen is not None and not seen.may_press(user_id, is_admin=services.is_admin(user_id)):
        await query.answer(tr.gettext(render.NOT_YOUR_CARD), show_alert=True)
        return
    if action == "rn":
        await query.answer()
        if isinstance(query.message, Message):
            await edit(query.message, replies.recheck_kept(tr))
        return
    if action == "re" and await _ask_before_recheck(services, query, user_id, token):
        return
    ticket = await cards.take(services.sessions, token)
    if ticket is None:
        await query.answer(tr.gettext(render.PHOTO_GONE), show_alert=True)
        return
    await query.answer(tr.gettext(render.RECHECK_ASKED))
    status: Message | None = None
    if isinstance(query.message, Message):
        if action == "rc":  # the question becomes the status message; the card loses its buttons
            status = query.message
            if card_id.isdigit():
                with contextlib.suppress(BadRequest):
                    await context.bot.edit_message_reply_markup(query.message.chat_id, int(card_id), reply_markup=None)
        else:
            with contextlib.suppress(BadRequest):
                await query.message.edit_reply_markup(reply_markup=None)
    rechecking = tr.gettext(render.RECHECKING)
    if status is None:
        status = await context.bot.send_message(ticket.chat_id, rechecking)
    else:
        await edit(status, rechecking)
    await services.updates.note_status(update.update_id, status.message_id)
    await process(
        services, context, update.effective_user.id, ticket.chat_id, ticket.refs, ticket.caption,
        StatusLine(None, message=status), cid=correlation_id.get(), update_id=update.update_id,
        replaces=ticket.analysis_id, fresh=True, recheck_of=token,
    )  # fmt: skip


async def _ask_before_recheck(services: Services, query: CallbackQuery, user_id: int, token: str) -> bool:
    """On the free plan a re-check spends a free analysis: ask first. True when the question was asked."""
    standing = await services.standing(user_id)
    if standing.plan != "free":
        return False
    tr = await services.translator(user_id)
    if await cards.get(services.sessions, token) is None:
        return False  # the usual "no longer have that photo" answer follows
    if standing.free_left == 0:
        await query.answer(replies.recheck_impossible(tr), show_alert=True)
        return True
    await query.answer()
    if isinstance(query.message, Message):
        yes, keep = replies.recheck_buttons(tr)
        card = query.message.message_id
        buttons = [
            InlineKeyboardButton(yes, callback_data=f"rc:{token}:{card}"),
            InlineKeyboardButton(keep, callback_data=f"rn:{token}:{card}"),
        ]
        await query.message.reply_text(
            replies.recheck_question(tr, standing.free_left), reply_markup=InlineKeyboardMarkup([buttons])
        )
    return True


async def process(
    services: Services,
    context: ContextTypes.DEFAULT_TYPE,
    user_id: int,
    chat_id: int,
    refs: list[PhotoRef],
    caption: str | None,
    line: StatusLine,
    *,
    cid: str,
    update_id: int,
    fresh: bool = False,
    replaces: int | None = None,
    recheck_of: str | None = None,
) -> None:
    """Download, answer from the cache, or reserve quota and analyse. Every path ends with the user told."""
    correlation_id.set(cid)
    lanes.LANE.set(lanes.PHOTO)
    caption = clean_text(caption) or None if caption else None  # NUL/bidi never reach the model or a database
    # Only the analysis takes one of services.slots: downloads and cache lookups of a crowd run side by side, so
    # a photo is acknowledged (or answered from the cache) without queueing behind other people's model calls.
    async with contextlib.AsyncExitStack() as slot:
        reservation: quota.Reservation | None = None
        progress: ProgressEdits | None = None
        try:
            tr = await services.translator(user_id)
            photos = await _download(services, context, refs, line)
            if photos is None:
                return
            asker = Asker(user_id, chat_id, refs, caption, photos[0])
            if not fresh:  # fingerprinted twice on a miss (a few ms) so that a hit costs one message, no quota
                language = tr.prompt_name
                hit = await services.pipeline.cached(photos, caption=caption, user_id=user_id, language=language)
                if hit is not None:
                    await _answer_or_undo(services, line, asker, hit)
                    return
                asked = await questions.ask_cached(services, photos, caption, user_id, update_id) if caption else None
                if asked is not None:
                    answered, ticket = asked  # the cached analysis, the caption's question answered in words
                    if not await _answer_or_undo(services, line, asker, answered):
                        await questions.give_back(services, ticket, update_id)
                    return
            status = await line.message()
            await slot.enter_async_context(services.slots)
            async with services.sessions.begin() as session:
                reservation = await quota.reserve(
                    session,
                    user_id=user_id,
                    is_admin=services.is_admin(user_id),
                    free_limit=services.settings.bot.free_photos,
                    now=datetime.now(UTC),
                )
                if reservation is not None and reservation.counts_against_quota:  # recovery gives it back
                    await inbox.hold_quota(session, update_id, user_id)
            if reservation is None:
                await _quota_exhausted(services, line, asker, photos)
                return

            edits = progress = ProgressEdits(status)

            async def on_progress(event: Progress) -> None:
                await edits(render.status_text(event, tr))

            result = await services.pipeline.analyze(
                photos, caption=caption, user_id=user_id, guard=services.guard, progress=on_progress, fresh=fresh,
                replaces=replaces, language=tr.prompt_name,
                arm=quality_telegram.arm_of(services, user_id),
            )  # fmt: skip
        except IntakeError as exc:
            await _close(progress)
            await _release(services, reservation, update_id)
            await line.show("📷 " + exc.user_message)
            return
        except NoTierAvailable as exc:
            await _close(progress)
            log.warning("no tier available for user %s (budget refused: %s)", user_id, exc.budget_refused)
            await _release(services, reservation, update_id)
            await line.show(await _failed(services, user_id, "budget" if exc.budget_refused else "unreachable"))
            return
        except AnalysisFailed as exc:
            await _close(progress)
            log.warning("analysis failed: %s", exc)
            await _release(services, reservation, update_id)
            kind = replies.failure_kind([a.outcome for a in exc.attempts])
            await line.show(await _failed(services, user_id, kind))
            return
        except Exception:
            await _close(progress)
            log.exception("photo processing failed for user %s", user_id)
            await _release(services, reservation, update_id)
            await line.show(await _failed(services, user_id, "ours"))
            return
        await _close(progress)
        if result.receipt.source != "model":  # cache, register or plate-only answers cost nothing
            await _release(services, reservation, update_id)
            reservation = None
        log.info(
            "answered via %s (%s) confidence %.2f cost %d µUSD in %d ms",
            result.receipt.source, result.receipt.tier, result.receipt.confidence,
            result.receipt.cost_micro_usd, result.receipt.duration_ms,
        )  # fmt: skip
        await _answer_or_undo(services, line, asker, result, reservation, update_id=update_id, recheck_of=recheck_of)
        if services.sampler is not None:  # after the answer: measurement never delays the technician
            services.sampler.maybe_evaluate(photos, caption, result, user_id=user_id)


async def _failed(services: Services, user_id: int, kind: str) -> str:
    """The failure's text in the user's language; "your free photo was not used" only on the free plan."""
    try:
        free_plan = (await services.standing(user_id)).plan == "free"
        tr = await services.translator(user_id)
    except Exception:  # the database may be what failed: English, and the sentence that is true for everyone
        log.warning("could not read the plan or language of user %s", user_id, exc_info=True)
        free_plan, tr = True, translator("en")
    return replies.analysis_failed(tr, kind, free_plan=free_plan)


async def _close(progress: ProgressEdits | None) -> None:
    if progress is not None:
        await progress.close()


async def _download(
    services: Services, context: ContextTypes.DEFAULT_TYPE, refs: list[PhotoRef], line: StatusLine
) -> list[bytes] | None:
    limit = min(TELEGRAM_DOWNLOAD_LIMIT, services.settings.pipeline.max_photo_bytes)
    photos: list[bytes] = []
    for ref in refs:
        if ref.file_size is not None and ref.file_size > limit:
            await line.show(render.file_too_big(ref.file_size, limit))
            return None
        file = await context.bot.get_file(ref.file_id)
        photos.append(bytes(await file.download_as_bytearray()))
    return photos


async def _quota_exhausted(services: Services, line: StatusLine, asker: Asker, photos: list[bytes]) -> None:
    """No free photo left: a photo already analysed is still answered (it costs nothing)."""
    user_id = asker.user_id
    language = (await services.translator(user_id)).prompt_name
    result = await services.pipeline.cached(photos, caption=asker.caption, user_id=user_id, language=language)
    if result is not None:
        await _answer_or_undo(services, line, asker, result)
        return
    status = await line.message()
    tr = await services.translator(user_id)
    text = replies.quota_used_up(tr, services.settings.bot.free_photos)
    try:  # the subscription invoice as a button; without it the user can still send /upgrade
        markup = await payments.upgrade_markup(status.get_bot(), services, user_id)
    except TelegramError:
        log.warning("could not create the invoice link for %s", user_id, exc_info=True)
        await edit(status, f"{text} {replies.upgrade_hint(tr)}")
        return
    await edit(status, f"{text}\n\n{replies.upgrade_offer(tr, services.settings.bot.stars_monthly_price)}", markup)


@dataclass(frozen=True)
class Asker:
    """Who asked, where, about which photos: where an answer goes and what its card remembers."""

    user_id: int
    chat_id: int
    refs: list[PhotoRef]
    caption: str | None
    photo: bytes  # the first photo, for the work order's attachment


async def _answer_or_undo(
    services: Services,
    line: StatusLine,
    asker: Asker,
    result: Result,
    reservation: quota.Reservation | None = None,
    *,
    update_id: int | None = None,
    recheck_of: str | None = None,
) -> bool:
    """Answer inside error handling: an answer that never arrived is not charged and not kept in the cache.
    True when it arrived."""
    user_id = asker.user_id
    try:
        delivered = await _answer(services, line, asker, result, recheck_of=recheck_of)
    except Exception:
        log.exception("answering failed for user %s", user_id)
        delivered = False
        with contextlib.suppress(TelegramError):
            await line.show(SOMETHING_WRONG)
    if not delivered:
        await _release(services, reservation, update_id)
        if result.analysis_id is not None:
            await services.pipeline.discard(result.analysis_id)
    return delivered


async def _answer(
    services: Services, line: StatusLine, asker: Asker, result: Result, *, recheck_of: str | None = None
) -> bool:
    """Send the card (``delivery`` falls back to plain text); False when nothing reached the user."""
    user_id, chat_id, refs, caption = asker.user_id, asker.chat_id, asker.refs, asker.caption
    token = secrets.token_urlsafe(9)
    tr = await services.translator(user_id)
    ticket = CardTicket(
        chat_id,
        refs,
        caption,
        result.analysis_id,
        result.analysis,
        provenance(result.analysis, result.receipt),
        owner_id=user_id,
        language=tr.code,
    )
    await cards.remember(services.sessions, token, ticket, datetime.now(UTC))
    auto = services.settings.bot.auto_work_order
    keyboard = workorders.card_keyboard(token, offer_work_order=not auto, tr=tr)
    keyboard = quality_buttons.with_feedback(keyboard, token, tr=tr)
    # recorded before the card shows, so a tap on its right/wrong buttons always finds the answer
    await quality_telegram.after_answer(services, token, result, chat_id, user_id=user_id, recheck_of=recheck_of)
    keyboard = confirm.with_rows(keyboard, confirm.rows(token, ticket.provenance, tr))  # disputed identifiers
    admin_view = services.is_admin(user_id) and chat_id == user_id  # cost lines never shown to a group
    orders = await _unit_orders(services, result)
    html = render.card(result.analysis, result.receipt, tr=tr, admin=admin_view, unit_orders=orders, question=caption)
    html = await _with_quota(services, html, user_id, charged=result.receipt.source == "model")
    try:
        first = await line.first(html, keyboard)  # a quick cache hit: the card is the only message
    except BadRequest:
        first = None  # refused as formatted: the fallback below edits an acknowledgement instead
    if first is not None:
        status = first
    else:
        status = await line.message()
        sent = await delivery.deliver_card(status, html, keyboard, tr)
        if sent is delivery.Delivery.LOST:
            return False
    await _card_placed(services, token, status)
    if auto:
        async with services.sessions() as session:
            row = await quota.get_user(session, user_id)
        reporter = Reporter(user_id, row.first_name if row else str(user_id))
        try:
            await workorders.file_work_order(
                services, status.get_bot(), ticket, status, reporter, token=token, photo=asker.photo
            )
        except Exception:
            log.exception("automatic work order failed for %s", chat_id)
            await status.reply_text(tr.gettext(render.WORK_ORDER_NOT_QUEUED))
    return True


async def _card_placed(services: Services, token: str, status: Message) -> None:
    """Where the card is (replies to it, its votes), in one write. Never raises: the card is already shown and
    charged for; without this row a reply to the card is not recognised as being about it."""
    try:
        async with services.sessions.begin() as session:
            await cards.place(session, token, status.chat_id, status.message_id, datetime.now(UTC))
            await quality_telegram.card_shown(session, token, status.message_id)
    except Exception:
        log.exception("could not record where card %s is", token)


async def _unit_orders(services: Services, result: Result) -> list[OutboxEntry]:
    """A known unit's latest work orders, for its card; none (and the card still goes) if the lookup fails."""
    unit = result.receipt.known_unit
    if unit is None:
        return []
    try:
        return await services.outbox.for_asset(unit.asset)
    except Exception:
        log.warning("could not list the work orders of %s", unit.asset, exc_info=True)
        return []


async def _with_quota(services: Services, card: str, user_id: int, *, charged: bool) -> str:
    """On the free plan, what is left after this answer goes under the card (when it fits)."""
    standing = await services.standing(user_id)
    if standing.plan != "free":
        return card
    line = replies.card_quota_line(await services.translator(user_id), standing.free_left, charged=charged)
    fits = render.visible_length(card) + render.utf16_len(line) + 2 <= render.MAX_MESSAGE
    return f"{card}\n\n{line}" if fits else card


async def _release(services: Services, reservation: quota.Reservation | None, update_id: int | None) -> None:
    if reservation is None:
        return
    async with services.sessions.begin() as session:
        await quota.release(session, reservation)
        if reservation.counts_against_quota and update_id is not None:
            await inbox.hold_quota(session, update_id, None)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The one error handler: log the cause, and make sure the user hears something."""
    log.error("unhandled error while handling an update", exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat is not None:
        message = update.effective_message
        photo = message is not None and bool(message.photo or message.document)
        try:  # only a photo can have spent a free photo; a command's failure says nothing about quotas
            await context.bot.send_message(update.effective_chat.id, SOMETHING_WRONG if photo else COMMAND_FAILED)
        except TelegramError:
            log.warning("could not tell the user about the error", exc_info=True)
