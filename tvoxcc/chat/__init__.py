"""Webchat: a visitor's chat as a work item of the one ACD (channel chat).

core (pure: states, item ids, limits), store (chats and numbered messages, requests to the ACD, its offers
applied); the web side is tvoxcc.web.chat (the widget's routes) and tvoxcc.web.desk (the agent desktop).
"""
