//! Profiles: named presets that reproduce a source's settings (a paper or its code), so a grid
//! can say `profile = "wgan-paper"` instead of restating them.

use super::*;

impl Profile {
    /// The settings a profile fixes, as a partial spec. User keys override them.
    pub fn settings(self) -> RunSpec {
        match self {
            // WGAN paper, Algorithm 1: RMSprop 5e-5, c = 0.01, n_critic 5, m = 64, clamp after step.
            Profile::WganPaper => RunSpec {
                warmup: Some(false),
                ..wgan_clip(ClipWhen::AfterStep)
            },
            // Official WGAN main.py: clamp before the critic's loss, 100 critic iterations for the
            // first 25 generator iterations and every 500th.
            Profile::WganCode => RunSpec {
                warmup: Some(true),
                order: Some(Order::CriticFirst),
                ..wgan_clip(ClipWhen::BeforeStep)
            },
            // WGAN-GP paper, Algorithm 1: lambda 10, n_critic 5, Adam 1e-4 (0, 0.9).
            Profile::WgangpPaper => wgan_gp(10.0, 0.0, 64),
            // gan_toy.py: lambda 0.1, Adam 1e-4 (0.5, 0.9), batch 256, generator first, tflib's
            // He/Glorot uniform init.
            Profile::WgangpToyCode => RunSpec {
                model: Some(Model::ToyMlp),
                dim: Some(512),
                order: Some(Order::GeneratorFirst),
                init: Some(InitScheme::TfOriginal),
                ..wgan_gp(0.1, 0.5, 256)
            },
            // caogang/wgan-gp gan_toy.py (the most used PyTorch port; lines of commit ae47a18):
            // DIM = 512 (l. 28), LAMBDA = .1 (l. 31), CRITIC_ITERS = 5 (l. 32), BATCH_SIZE = 256
            // (l. 33); both nets Linear(2, DIM) and two Linear(DIM, DIM), each followed by a ReLU,
            // then the output layer (ll. 44-52, 68-76), noise of size 2 (l. 258); weights_init:
            // every Linear weight N(0, 0.02), bias 0 (ll. 85-92, applied ll. 216-217); Adam 1e-4,
            // betas (0.5, 0.9) on both (ll. 225-226); each iteration updates the critic
            // CRITIC_ITERS times, then the generator (ll. 236-300).
            Profile::WgangpToyPort => RunSpec {
                model: Some(Model::ToyMlp),
                dim: Some(512),
                depth: Some(3),
                z_dim: Some(2),
                order: Some(Order::CriticFirst),
                init: Some(InitScheme::Normal002),
                ..wgan_gp(0.1, 0.5, 256)
            },
            // The seed script (docs/seed-script.md): the WGAN paper's settings on its MLPs, with
            // PyTorch's RMSprop defaults spelled out and its batch-index schedule.
            Profile::Seed => RunSpec {
                model: Some(Model::Mlp),
                dataset: Some(Dataset::Mnist),
                g_output: Some(GOutput::Tanh),
                schedule: Some(Schedule::SeedBatchIndex),
                init: Some(InitScheme::TorchDefault),
                g_alpha: Some(0.99),
                c_alpha: Some(0.99),
                g_momentum: Some(0.0),
                c_momentum: Some(0.0),
                g_eps: Some(1e-8),
                c_eps: Some(1e-8),
                ..wgan_clip(ClipWhen::AfterStep)
            },
        }
    }
}

/// The WGAN paper's settings: clipping at c = 0.01, n_critic 5, batch 64, RMSprop 5e-5 on both
/// networks.
fn wgan_clip(clip_when: ClipWhen) -> RunSpec {
    RunSpec {
        objective: Some(Objective::Wgan),
        penalty: Some(Penalty::None),
        clip: Some(0.01),
        clip_when: Some(clip_when),
        n_critic: Some(5),
        batch_size: Some(64),
        g_optim: Some(OptimKind::Rmsprop),
        c_optim: Some(OptimKind::Rmsprop),
        g_lr: Some(5e-5),
        c_lr: Some(5e-5),
        ..RunSpec::default()
    }
}

/// The WGAN-GP code's settings: penalty weight `lambda`, n_critic 5, Adam 1e-4 with
/// betas (`beta1`, 0.9) on both networks.
fn wgan_gp(lambda: f64, beta1: f64, batch_size: i64) -> RunSpec {
    RunSpec {
        objective: Some(Objective::Wgan),
        penalty: Some(Penalty::Gp),
        penalty_weight: Some(lambda),
        n_critic: Some(5),
        batch_size: Some(batch_size),
        g_optim: Some(OptimKind::Adam),
        c_optim: Some(OptimKind::Adam),
        g_lr: Some(1e-4),
        c_lr: Some(1e-4),
        g_beta1: Some(beta1),
        c_beta1: Some(beta1),
        g_beta2: Some(0.9),
        c_beta2: Some(0.9),
        ..RunSpec::default()
    }
}
