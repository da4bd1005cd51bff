"""GitOps deploys: image tags change by pull request against the environment spec."""
