"""Telegram: the installation's bot — its token, linking chats, the poller and its commands.

Sending notifications through it is the `telegram` channel (`webapp.notify.channels`).
"""
