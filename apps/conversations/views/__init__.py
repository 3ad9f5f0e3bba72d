"""The agent inbox, one module per screen: parse → selector/service → render (a partial when htmx asks).

`inbox` the list, `conversation` the open conversation's pane, `composer` sending, `actions` assign,
status, snooze and labels, `channels` the web-chat channels; `shared` what several screens look up.
"""
