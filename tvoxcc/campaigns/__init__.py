"""Outbound campaigns: the pure dialer core (records, windows, do-not-call, pacing, the abandon ledger).

No I/O here: time is given to every call, events go in, commands come out. The store adapter is
tvoxcc.campaigns.store; the CLI is tvoxcc.cli.campaign.
"""
