use super::*;
use harness_core::config::Backend;

fn host(t: &Tensor<1>) -> Vec<f32> {
    t.clone()
        .into_data()
        .try_to_vec::<f32>()
        .unwrap_or_default()
}

/// Equal up to `2e-5 * scale` elementwise.
fn close_at(a: &Tensor<1>, b: &Tensor<1>, scale: f32) -> bool {
    let (a, b) = (host(a), host(b));
    a.len() == b.len() && a.iter().zip(&b).all(|(x, y)| (x - y).abs() <= 2e-5 * scale)
}

fn close(a: &Tensor<1>, b: &Tensor<1>) -> bool {
    close_at(a, b, host(a).iter().fold(1e-3f32, |m, x| m.max(x.abs())))
}

/// Parameter gradients equal relative to the largest gradient entry of the network (the
/// output bias's WGAN gradient is zero up to rounding, so per-tensor scales would not do).
fn same_grads(a: &ParamGrads, b: &ParamGrads) {
    let (a, b) = (a.clone().totals(), b.clone().totals());
    assert_eq!(a.len(), b.len());
    let scale = a
        .iter()
        .flatten()
        .flat_map(host)
        .fold(0f32, |m, x| m.max(x.abs()));
    assert!(scale > 0.0);
    for (i, (x, y)) in a.iter().zip(&b).enumerate() {
        let (x, y) = (x.as_ref().unwrap(), y.as_ref().unwrap());
        assert!(
            close_at(x, y, scale),
            "parameter {i}: shard gradients differ from the batch's"
        );
    }
}

/// Two weighted shards (33 + 33 rows) give the whole batch's losses, penalty, gradient norm
/// and parameter gradients, up to float reassociation, for the critic and the generator.
#[test]
fn shards_add_up_to_the_whole_batch() {
    let spec = harness_core::config::RunSpec {
        profile: Some(harness_core::config::Profile::WgangpToyCode),
        dataset: Some(harness_core::config::Dataset::EightGaussians),
        ..Default::default()
    };
    let mut cfg = spec.resolve().unwrap();
    cfg.dim = Some(32);
    cfg.batch_size = 66;
    let device = crate::run::device_for(Backend::Flex).unwrap();
    let mut e = Engine::new(&cfg, &device, None);
    // Train a little so the critic is not at its initialisation.
    for _ in 0..3 {
        e.train_step();
    }
    let b = 66;
    let z = e.noise(b);
    let real = e.sampler.next_batch(b);
    let real = e.to_tensor(real, e.dim);
    let eps: Vec<f32> = (0..b).map(|_| e.noise_rng.random::<f32>()).collect();
    let eps = e.to_tensor(eps, 1);
    let g = e.g.clone();
    let rows = |t: &Tensor<2>, s: &crate::ops::shard::Shard| t.clone().narrow(0, s.start, s.len);
    let critic = |shards: Shards| {
        shards.run(|s| {
            let (r, zs, es) = (rows(&real, s), rows(&z, s), Some(rows(&eps, s)));
            critic_shard(&e.cfg, &g, &e.c, s, r, zs, es)
        })
    };
    assert_eq!(Shards::of(b, true).0.len(), 2);
    let (whole_g, whole) = critic(Shards::of(b, false));
    let (split_g, split) = critic(Shards::of(b, true));
    same_grads(&whole_g, &split_g);
    assert!(close(&whole.loss, &split.loss));
    assert!(close(&whole.penalty.unwrap(), &split.penalty.unwrap()));
    assert!(close(&whole.grad_norm.unwrap(), &split.grad_norm.unwrap()));

    let c = e.c.clone().no_grad();
    let generator =
        |shards: Shards| shards.run(|s| generator_shard(&e.cfg, &e.g, &c, s, rows(&z, s)));
    let (whole_g, whole) = generator(Shards::of(b, false));
    let (split_g, split) = generator(Shards::of(b, true));
    same_grads(&whole_g, &split_g);
    assert!(close(&whole, &split));
}
