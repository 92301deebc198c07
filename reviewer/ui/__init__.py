"""The local web page (`reviewer ui`): Gradio, imported only when the page is started.

server.py  offline hardening and start-up      hub.py      engines warmed in the background
app.py     the Blocks layout and its events    session.py  one review as a stream of stages
render.py  Result -> HTML, highlights, tables  examples.yml  the one-click example drafts
"""
