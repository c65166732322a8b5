//! Consent answers and claims count only when written by the speaker's own device.

use crate::NewDevice;
use automerge::ObjType;
use automerge::transaction::Transactable;

use super::*;
use crate::ActorHex;
use crate::model::{Answer, OfferStatus};
use crate::testing::TeamFixture;
use crate::views::{self, HistoryKind};

/// Mallory (replica 2) writes "yes" under Ana's key with her own device, straight into
/// the document, bypassing every check a command would do.
fn forge_answer(f: &mut TeamFixture, offer: &OfferId, as_member: &MemberId) {
    let doc = f.replicas[2].doc.automerge();
    let responses = map_at(doc, &["offers", offer.as_str(), "responses"]);
    let r = doc
        .put_object(&responses, as_member.as_str(), ObjType::Map)
        .expect("put");
    doc.put(&r, "answer", "yes").expect("put");
    doc.put(&r, "at_ms", 1_i64).expect("put");
    doc.commit();
    f.replicas[2].doc.refresh_after_merge();
}

#[test]
fn a_forged_yes_is_ignored_by_every_view_and_flagged_in_history() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ana = f.id(0);
    let r = ask(&mut f, 0, "Incident review", Urgency::Normal);
    f.sync_all();
    let o = offer_on(&mut f, 1, &r, "secret advice");
    f.sync_all();
    forge_answer(&mut f, &o, &ana);
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        let offer = &team.offers[&o];
        assert_eq!(
            offer.status(),
            OfferStatus::Pending,
            "forged yes does not count"
        );
        assert_eq!(
            offer.visible_message(Some(&f.id(2))),
            None,
            "advice stays hidden"
        );
        assert_eq!(offer.forged_responses.len(), 1);
        let flagged: Vec<_> = views::history(team)
            .into_iter()
            .filter(|h| h.kind == HistoryKind::Forged)
            .collect();
        assert_eq!(flagged.len(), 1);
        assert_eq!(flagged[0].who_name, "Mallory", "the real writer is named");
        assert!(flagged[0].text.contains("Ana"), "{}", flagged[0].text);
        // Ana still has it in her inbox, waiting for her own answer.
        assert_eq!(
            views::inbox(team, &ana, f.env.now_ms)
                .offers_to_answer
                .len(),
            1
        );
    }
    // Ana's own answer replaces the forged entry's fields and counts.
    respond(&mut f, 0, &o, Answer::Yes);
    f.sync_all();
    assert_eq!(
        f.replicas[1].doc.team().offers[&o].status(),
        OfferStatus::Accepted
    );
}

#[test]
fn flipping_one_field_of_a_genuine_answer_is_caught() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ana = f.id(0);
    let o = offer_to(&mut f, 1, &ana, "Pairing");
    f.sync_all();
    respond(&mut f, 0, &o, Answer::NotNow);
    f.sync_all();
    {
        let doc = f.replicas[2].doc.automerge();
        let entry = map_at(doc, &["offers", o.as_str(), "responses", ana.as_str()]);
        doc.put(&entry, "answer", "yes").expect("put");
        doc.commit();
    }
    f.sync_all();
    let offer = &f.replicas[1].doc.team().offers[&o];
    assert_ne!(offer.status(), OfferStatus::Accepted);
    assert_eq!(offer.forged_responses.len(), 1);
}

#[test]
fn a_device_smuggled_into_someone_elses_record_is_not_trusted() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let ana = f.id(0);
    let o = offer_to(&mut f, 1, &ana, "Pairing");
    f.sync_all();
    // Mallory adds her own device to Ana's device list, then answers as Ana.
    let mallory_actor = f.replicas[2].doc.actor().clone();
    {
        let doc = f.replicas[2].doc.automerge();
        let devices = map_at(doc, &["members", ana.as_str(), "devices"]);
        let d = doc
            .put_object(&devices, mallory_actor.as_str(), ObjType::Map)
            .expect("put");
        doc.put(&d, "endpoint", "evil").expect("put");
        doc.commit();
    }
    forge_answer(&mut f, &o, &ana);
    f.sync_all();
    let team = f.replicas[1].doc.team();
    assert_eq!(team.offers[&o].status(), OfferStatus::Pending);
    let smuggled = team.members[&ana]
        .devices
        .iter()
        .find(|d| d.actor == mallory_actor)
        .expect("entry is there");
    assert!(!smuggled.trusted);
    assert_eq!(team.member_of_actor(&mallory_actor), Some(&f.id(2)));
}

#[test]
fn a_linked_second_device_speaks_for_its_member() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let ana = f.id(0);
    let o = offer_to(&mut f, 1, &ana, "Pairing");
    f.sync_all();
    let phone = ActorHex::from_bytes(&[9; 16]);
    f.apply(
        0,
        Command::AddDevice(NewDevice {
            member: ana.clone(),
            actor: phone.clone(),
            endpoint: "phone".into(),
            label: "phone".into(),
            addrs: vec!["127.0.0.1:9".into(), "junk".into()],
            relay: Some("https://relay.example.org/".into()),
        }),
    )
    .expect("link");
    // Ben cannot link a device to Ana.
    let err = f
        .apply(
            1,
            Command::AddDevice(NewDevice {
                member: ana.clone(),
                actor: ActorHex::from_bytes(&[8; 16]),
                endpoint: "x".into(),
                label: String::new(),
                addrs: vec![],
                relay: None,
            }),
        )
        .expect_err("not his");
    assert!(matches!(err, crate::CommandError::NotYours { .. }));
    let linked = &f.replicas[0].doc.team().members[&ana].devices;
    let phone_entry = linked.iter().find(|d| d.actor == phone).expect("linked");
    assert_eq!(
        phone_entry.addrs,
        vec!["127.0.0.1:9".to_string()],
        "malformed addresses dropped"
    );
    assert_eq!(
        phone_entry.relay.as_deref(),
        Some("https://relay.example.org/"),
        "the relay URL is kept with the device"
    );
    let bytes = f.replicas[0].doc.automerge().save();
    let mut phone_doc =
        crate::TeamDoc::from_doc(automerge::AutoCommit::load(&bytes).expect("load"), phone);
    assert_eq!(phone_doc.me(), Some(&ana));
    phone_doc
        .apply(
            Command::Respond {
                offer: o.clone(),
                answer: Answer::Yes,
            },
            &mut f.env,
        )
        .expect("answer from phone");
    crate::testing::sync_docs(&mut phone_doc, &mut f.replicas[1].doc);
    assert_eq!(
        f.replicas[1].doc.team().offers[&o].status(),
        OfferStatus::Accepted
    );
}

#[test]
fn a_forged_claim_does_not_win() {
    let mut f = TeamFixture::new(&["Ana", "Ben", "Mallory"]);
    let r = ask(&mut f, 0, "Help", Urgency::Normal);
    f.sync_all();
    let ben = f.id(1);
    {
        let doc = f.replicas[2].doc.automerge();
        let claims = map_at(doc, &["requests", r.as_str(), "claims"]);
        let c = doc
            .put_object(&claims, ben.as_str(), ObjType::Map)
            .expect("put");
        doc.put(&c, "at_ms", 0_i64).expect("put");
        doc.commit();
    }
    f.sync_all();
    let req = &f.replicas[0].doc.team().requests[&r];
    assert!(req.winning_claim().is_none());
    assert_eq!(req.forged_claims.len(), 1);
}

#[test]
fn a_device_id_is_parsed_as_the_member_is_read() {
    // The fixture's endpoints ("endpoint-1") are not device ids: the reader says so once,
    // as `None`, and the device still speaks for its member.
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let ben = f.id(1);
    let device = &f.replicas[0].doc.team().members[&ben].devices[0];
    assert_eq!(device.endpoint, None);
    assert!(device.trusted);
    // A real one is parsed.
    let id = peercoach_base::DeviceId::from_secret_key_bytes(&[7; 32]);
    let applied = f
        .apply(
            0,
            crate::Command::AddMember(crate::NewMember {
                name: "Cleo".into(),
                actor: crate::testing::actor(9),
                endpoint: id.to_string(),
                label: "laptop".into(),
                addrs: vec![],
                relay: None,
            }),
        )
        .expect("added");
    let cleo = crate::MemberId::try_from(applied.created.expect("id")).expect("member id");
    assert_eq!(
        f.replicas[0].doc.team().members[&cleo].devices[0].endpoint,
        Some(id)
    );
}

/// A device trusted anew is read into what it wrote before, on every replica, and the
/// model kept up to date stays the one a full read gives; a device that wrote nothing
/// changes no record.
#[test]
fn what_a_device_wrote_before_it_was_linked_counts_once_it_is() {
    let mut f = TeamFixture::new(&["Ana", "Ben"]);
    let ana = f.id(0);
    let o = offer_to(&mut f, 1, &ana, "Pairing");
    f.sync_all();
    // Ana's laptop, not linked yet, answers yes in her name.
    let laptop = ActorHex::from_bytes(&[7; 16]);
    raw(&mut f, 0, |doc| {
        let mine = doc.get_actor().clone();
        doc.set_actor(laptop.to_actor());
        let responses = map_at(doc, &["offers", o.as_str(), "responses"]);
        let r = doc
            .put_object(&responses, ana.as_str(), ObjType::Map)
            .expect("put");
        doc.put(&r, "answer", "yes").expect("put");
        doc.put(&r, "at_ms", 1_i64).expect("put");
        doc.commit();
        doc.set_actor(mine);
    });
    f.sync_all();
    let link = |actor: &ActorHex, label: &str| {
        Command::AddDevice(NewDevice {
            member: ana.clone(),
            actor: actor.clone(),
            endpoint: label.into(),
            label: label.into(),
            addrs: vec![],
            relay: None,
        })
    };
    // A phone that wrote nothing: the answer still counts for nothing.
    f.apply(0, link(&ActorHex::from_bytes(&[6; 16]), "phone"))
        .expect("link");
    f.sync_all();
    for replica in &f.replicas {
        let offer = &replica.doc.team().offers[&o];
        assert_eq!(offer.status(), OfferStatus::Pending);
        assert_eq!(offer.forged_responses.len(), 1);
    }
    // Linking the laptop makes its answer Ana's.
    f.apply(0, link(&laptop, "laptop")).expect("link");
    f.sync_all();
    for replica in &f.replicas {
        let team = replica.doc.team();
        assert_eq!(team.offers[&o].status(), OfferStatus::Accepted);
        assert!(team.offers[&o].forged_responses.is_empty());
        assert_eq!(&crate::Team::read(replica.doc.automerge_ref()), team);
    }
}
