//! Profiles resolve to the settings of the code they name, checked field by field against the
//! source's lines.

use harness_core::config::{InitScheme, Loss, Model, OptimKind, Order, Profile, RunSpec, Schedule};

fn resolve(p: Profile) -> harness_core::config::RunConfig {
    RunSpec {
        profile: Some(p),
        ..Default::default()
    }
    .resolve()
    .unwrap()
}

/// caogang/wgan-gp `gan_toy.py` at commit ae47a18 (the most used PyTorch port of the WGAN-GP
/// toy code).
#[test]
fn wgangp_toy_port_is_caogangs_gan_toy_py() {
    let c = resolve(Profile::WgangpToyPort);
    assert_eq!(c.legacy_loss(), Some(Loss::WganGp)); // MODE = 'wgan-gp' (l. 26)
    assert_eq!(c.penalty_weight, Some(0.1)); // LAMBDA = .1 (l. 31)
    assert_eq!(c.n_critic, 5); // CRITIC_ITERS = 5 (l. 32)
    assert_eq!(c.batch_size, 256); // BATCH_SIZE = 256 (l. 33)
    // Linear(2, DIM), ReLU, Linear(DIM, DIM), ReLU, Linear(DIM, DIM), ReLU, Linear(DIM, out)
    // (ll. 44-52, 68-76) with DIM = 512 (l. 28); noise randn(BATCH_SIZE, 2) (l. 258).
    assert_eq!(c.model, Model::ToyMlp);
    assert_eq!((c.dim, c.depth, c.z_dim), (Some(512), Some(3), 2));
    // weights_init: Linear weight normal_(0.0, 0.02), bias fill_(0) (ll. 85-92, 216-217).
    assert_eq!(c.init_scheme(), InitScheme::Normal002);
    // optim.Adam(lr=1e-4, betas=(0.5, 0.9)) for both nets (ll. 225-226); PyTorch's eps 1e-8.
    for o in [&c.g_optim, &c.c_optim] {
        assert_eq!(o.kind, OptimKind::Adam);
        assert_eq!(
            (o.lr, o.beta1, o.beta2, o.eps),
            (1e-4, Some(0.5), Some(0.9), 1e-8)
        );
    }
    // CRITIC_ITERS critic updates on fresh batches, then one generator update (ll. 236-299).
    assert_eq!((c.order, c.schedule), (Order::CriticFirst, Schedule::Fresh));
}

/// The TF original differs from the port only in its initialisation and its order (gan_toy.py
/// of igul222/improved_wgan_training updates the generator first, from the second iteration).
#[test]
fn the_port_and_the_tf_code_differ_in_init_and_order() {
    let port = resolve(Profile::WgangpToyPort);
    let code = resolve(Profile::WgangpToyCode);
    assert_eq!(code.init_scheme(), InitScheme::TfOriginal);
    assert_eq!(code.order, Order::GeneratorFirst);
    let same = harness_core::config::RunConfig {
        init: code.init,
        order: code.order,
        profile: code.profile,
        ..port.clone()
    };
    assert_eq!(same, code);
}
