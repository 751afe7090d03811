"""Streamlit helpers shared by the pages: caching, sidebar filters, rendering.

Only this package and ``pages/`` import streamlit; ``analytics`` never does.
"""
