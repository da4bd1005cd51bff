"""Pictures generated from the synthesized output: the architecture of one environment and the path
of a change through the workflows. Graphviz (`dot`, Debian package `graphviz`) lays them out; the
graph is written here as DOT text, so the only dependency is the renderer.
"""
