"""Dispositions: the activity code (kind ``disposition``) an agent gives a contact at wrap-up, from the phone
(``*76<code>``) or the desktop; a campaign call's disposition drives its record's retry rule."""
