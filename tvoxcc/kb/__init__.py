"""Knowledge Base: pure rules (articles, versions, search queries, snippets, suggestions) and the store adapter."""
