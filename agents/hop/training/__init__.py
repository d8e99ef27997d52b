"""HOP training: data collection, the training loop, checkpoint IO and logging."""
