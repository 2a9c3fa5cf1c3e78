"""Assessment: analyzers over transcripts and audio, the language-model judge, band rules."""
