"""The engine's coded messages (engine.codes) in the user's language: deploy problems, conflicts, a case
stopped on its routine. Swedish is the source text (the Babel msgid); the English is in
translations/en like every other string of the web. `say` renders a code with its parameters; a nested
code is said in the same language. tests/test_codes.py checks that this table and the engine's have the
same codes and placeholders.
"""
from __future__ import annotations

from typing import Any

from flask_babel import format_decimal, gettext

from elevflow.engine.codes import Coded, say_param
from elevflow.engine.errors import ElevflowError, Problem


def N_(text: str) -> str:  # noqa: N802 - Babel's marker for a string translated later
    return text


#: code -> Swedish template (`%(name)s` placeholders), translated through the catalogue when said
SWEDISH: dict[str, str] = {
    "plain.text": N_("%(text)s"),
    "xml.unknown_encoding": N_("filen säger att dess teckenkodning är ”%(codec)s”, som Elevflow inte kan "
                               "läsa; spara den som UTF-8"),
    "xml.bad_encoding": N_("filen är inte giltig %(codec)s-text (vid byte %(byte)s); spara den som UTF-8"),
    "xml.doctype": N_("en DOCTYPE-deklaration (och därmed entiteter) är inte tillåten i BPMN-filer"),
    "xml.malformed": N_("felaktig XML: %(detail)s"),
    "xml.not_bpmn": N_("rotelementet är inte bpmn:definitions (är det här en BPMN 2.0-fil?)"),
    "file.too_large": N_("filen är större än %(mb)s MB"),
    "file.not_bpmn": N_("bara .bpmn-filer kan importeras"),
    "file.no_process": N_("filen innehåller ingen process"),
    "file.no_bpmn_in_folder": N_("ingen .bpmn-fil finns i %(path)s"),
    "file.missing": N_("%(path)s finns inte"),
    "draft.too_large": N_("diagrammet är större än %(mb)s MB"),
    "draft.form_name": N_("ett formulärs filnamn ska sluta på .json och inte namnge någon mapp"),
    "draft.no_such_file": N_("utkastet har ingen sådan fil"),
    "draft.process_renamed": N_("utkastet har inte längre någon körbar process ”%(key)s”: behåll processens "
                                "id (importera filen som en ny rutin för att starta en annan)"),
    "unsupported.service_task": N_("en serviceuppgift anropar ett annat system, och Elevflow har inga "
                                   "kopplingar till andra system: gör den till en användaruppgift (en person "
                                   "gör den) eller en skriptuppgift"),
    "unsupported.business_rule_task": N_("en affärsregeluppgift använder en DMN-beslutstabell, som Elevflow "
                                         "inte driftsätter: låt en användaruppgift registrera beslutet "
                                         "och en exklusiv gateway agera på det"),
    "unsupported.data_store": N_("ett datalager står för ett annat system; Elevflow håller ett ärendes "
                                 "uppgifter i ärendet: ta bort det (dataobjekt går bra)"),
    "unsupported.complex_gateway": N_("komplexa gateways kan inte köras (SpiffWorkflow stöder dem inte): "
                                      "använd en exklusiv, inkluderande eller parallell gateway"),
    "unsupported.compensation": N_("kompensation kan inte köras (SpiffWorkflow stöder det inte): modellera "
                                   "det som ska göras ogjort som vanliga steg"),
    "unsupported.global_task": N_("globala uppgifter kan inte köras: lägg uppgiften i processen, eller "
                                  "anropa en process i stället"),
    "unsupported.ad_hoc_subprocess": N_("en ad hoc-delprocess (stegen i valfri ordning, som personerna "
                                        "väljer) kan inte köras: rita stegen med flöden, eller i parallella "
                                        "grenar efter en parallell gateway"),
    "unsupported.link_event": N_("länkhändelser kan inte köras (SpiffWorkflow kopplar inte en länks kastande "
                                 "händelse till den fångande, så ärendet skulle stanna där): rita "
                                 "sekvensflödet i stället"),
    "unsupported.conditional_event": N_("en villkorshändelse kan inte köras: den prövas bara när ärendet når "
                                        "den och inget väcker den senare; låt en exklusiv gateway välja på "
                                        "ärendets data, eller vänta på ett meddelande eller en timer"),
    "unsupported.flow_condition": N_("ett villkor på ett flöde som lämnar en uppgift eller händelse kan inte "
                                     "köras: led flödet genom en exklusiv gateway och sätt villkoret där"),
    "task.send_no_lane": N_("en sändningsuppgift meddelar personerna i sin bana, och den här ligger inte i "
                            "någon bana: lägg den i banan för den roll den meddelar"),
    "spiff.problem": N_("SpiffWorkflow: %(detail)s"),
    "spiff.one_start_event": N_("en delprocess ska ha exakt en starthändelse: rita en enkel starthändelse"),
    "spiff.no_start_event": N_("ingen starthändelse: en process behöver en starthändelse"),
    "spiff.multi_instance_cardinality": N_("en flerinstansuppgift måste ange hur många gånger (kardinalitet) "
                                           "eller en samling att gå igenom"),
    "spiff.loop_end": N_("en loopuppgift behöver ett högsta antal varv eller ett loopvillkor, annars tar den "
                         "aldrig slut"),
    "spiff.subprocess_end": N_("en delprocess måste ha en sluthändelse"),
    "spiff.task_flows": N_("en uppgift av den här typen får ha bara ett utgående flöde: välj med en gateway "
                           "efter den"),
    "spiff.timer": N_("timern kan inte läsas: ange ett datum, en varaktighet (P7D) eller en cykel (R3/P1D) "
                      "enligt ISO 8601"),
    "spiff.duplicate_process": N_("dubbelt process-id: en annan fil har en process med samma id"),
    "spiff.cancel_event": N_("avbrytandehändelser får bara användas i transaktioner"),
    "spiff.missing_definition": N_("händelsen pekar på ett meddelande, en signal, ett fel eller en "
                                   "eskalering som filen inte definierar"),
    "spiff.cannot_read": N_("SpiffWorkflow kan inte läsa filen: %(detail)s"),
    "spiff.cannot_build": N_("SpiffWorkflow kan inte bygga processen ”%(key)s”: %(detail)s"),
    "spiff.cannot_start": N_("SpiffWorkflow kan inte starta processen ”%(key)s”: %(detail)s"),
    "process.not_executable": N_("ingen körbar process: markera rutinens process isExecutable=\"true\""),
    "process.too_deep": N_("SpiffWorkflow kan inte läsa en så djup process: den följer en väg steg för steg, "
                           "och den här har fler steg efter varandra än den kan följa (några hundra); dela "
                           "upp den i processer som anropsaktiviteter startar"),
    "process.endless_start": N_("ett ärende i den här processen kunde inte ens starta: när SpiffWorkflow "
                                "lägger ut vägarna framåt går den runt en slinga utan slut (en slinga genom "
                                "parallella gateways utan villkor?) eller ner i en för lång kedja av steg"),
    "process.unknown_property": N_("okänd rutinegenskap ”%(name)s” (kända: %(known)s; och de nyckeltal och "
                                   "beslutsavsnitt den deklarerar: count:KEY, breakdown:KEY, leadTime:KEY, "
                                   "label:KEY, perUnit, reportAt, document:KIND, section:KIND:N)"),
    "decl.problem": N_("%(property)s: %(reason)s"),
    "decl.key_form": N_("ett nyckeltals nyckel är små bokstäver, siffror och _, inte ”%(key)s”"),
    "decl.count_form": N_("en räkning (count) listar steg-id, decision=SLAG eller cancelled"),
    "decl.count_form_not": N_("en räkning (count) listar steg-id, decision=SLAG eller cancelled, inte "
                              "%(items)s"),
    "decl.lead_time_form": N_("en ledtid är FRÅN -> TILL, vardera ett steg-id eller decisions SLAG ..."),
    "decl.breakdown_form": N_("en fördelning är answers STEG.FÄLT ...: DEL ..., decisions: SLAG ... eller "
                              "cancelled: GRUND ..."),
    "decl.not_step_field": N_("”%(item)s” är inte STEG.FÄLT"),
    "decl.answers_need_field": N_("en fördelning av svar (answers) anger vilket STEG.FÄLT den läser"),
    "decl.part_only_answers": N_("”%(item)s”: bara en fördelning av svar (answers) namnger delar "
                                 "DEL=FÄLT.VÄRDE"),
    "decl.count_step": N_("räkningen ”%(key)s” räknar steget ”%(step)s”, som inte är en användaruppgift i "
                          "rutinen (bytt namn eller borttaget? ange steget den ska räkna nu)"),
    "decl.count_decision": N_("räkningen ”%(key)s” räknar beslut av slaget ”%(kind)s”, som inget "
                              "beslutssteg i rutinen fattar (slag: %(kinds)s)"),
    "decl.lead_step": N_("ledtiden ”%(key)s” börjar eller slutar vid steget ”%(step)s”, som inte är en "
                         "användaruppgift i rutinen (bytt namn eller borttaget? ange steget den ska räkna "
                         "nu)"),
    "decl.lead_decision": N_("ledtiden ”%(key)s” börjar eller slutar vid beslut av slaget ”%(kind)s”, som "
                             "inget beslutssteg i rutinen fattar (slag: %(kinds)s)"),
    "decl.report_at_step": N_("reportAt anger steget ”%(step)s”, som inte är en användaruppgift i rutinen "
                              "(bytt namn eller borttaget? ange steget den ska räkna nu)"),
    "decl.per_unit": N_("perUnit anger ”%(key)s”, som inte är någon av rutinens räkningar"),
    "decl.breakdown_decision": N_("fördelningen ”%(key)s” räknar beslut av slaget ”%(kind)s”, som inget "
                                  "beslutssteg i rutinen fattar"),
    "decl.breakdown_ground": N_("fördelningen ”%(key)s” räknar avbrott på grunden ”%(ground)s”, som inte är "
                                "någon känd grund (%(known)s)"),
    "decl.breakdown_step": N_("fördelningen ”%(key)s” läser steget ”%(step)s”, som inte är en "
                              "användaruppgift i rutinen (bytt namn eller borttaget? ange steget den ska "
                              "läsa nu)"),
    "decl.breakdown_field": N_("fördelningen ”%(key)s” läser fältet ”%(field)s” i steget ”%(step)s”, som "
                               "dess formulär %(form)s inte har"),
    "decl.breakdown_part": N_("fördelningen ”%(key)s” namnger en del för fältet ”%(field)s”, som den inte "
                              "läser"),
    "decl.section_form": N_("ett avsnitt är section:SLAG:N = Rubrik: STEG.FÄLT ..., ett dokument "
                            "document:SLAG = Titel | rättslig grund"),
    "decl.case_document_form": N_("ett ärendedokument skrivs caseDocument:SLAG = Rubrik | lagrum | STEG ..."),
    "decl.case_document_step": N_("dokumentet %(document)s läser steget ”%(step)s”, som inte är en "
                                  "användaruppgift i rutinen"),
    "decl.document_kind": N_("dokumentet för beslut av slaget ”%(kind)s”, som inget beslutssteg i rutinen "
                             "fattar (slag: %(kinds)s)"),
    "decl.section_step": N_("avsnittet ”%(heading)s” i dokumentet för %(kind)s läser steget "
                            "”%(step)s”, som inte är en användaruppgift i rutinen (bytt namn eller "
                            "borttaget? ange steget det ska läsa nu)"),
    "decl.section_field": N_("avsnittet ”%(heading)s” i dokumentet för %(kind)s läser fältet ”%(field)s” "
                             "i steget ”%(step)s”, som dess formulär %(form)s inte har"),
    "decision.document_field": N_("steget fattar beslut av slaget ”%(kind)s”, vars dokument skriver ut "
                                  "%(fields)s, som rutinens formulär samlade in förut men inte längre "
                                  "(bytt namn eller borttaget? behåll fälten, eller låt steget fatta ett "
                                  "eget slag av beslut och beskriv dess dokument med document:SLAG och "
                                  "section:SLAG:N)"),
    "process.bad_property": N_("%(name)s är ”%(value)s”; den måste vara en av %(allowed)s"),
    "process.visible_to_unknown": N_("visibleTo nämner ”%(name)s”, som inte är en känd roll"),
    "lane.unknown_role": N_("simbanan ”%(lane)s” är inte en känd roll (de roller en simbana får ha: "
                            "%(known)s)"),
    "lane.not_for_cases": N_("simbanan ”%(lane)s” arbetar med rutiner, aldrig med ärenden (de roller en "
                             "simbana får ha: %(known)s)"),
    "task.no_lane": N_("användaruppgiften ligger inte i någon simbana: lägg den i sin rolls simbana"),
    "task.form_missing": N_("formuläret ”%(form)s” finns inte i rutinens mapp forms/"),
    "task.personal_no_assignee": N_("en personlig uppgift måste säga vem den går till (assigneeFrom, t.ex. "
                                    "startad_av)"),
    "task.unknown_cancel_grounds": N_("cancelGrounds nämner okända grunder %(grounds)s (kända: %(known)s)"),
    "task.step_declaration": N_("%(reason)s"),
    "step.context_unknown_step": N_("context nämner steget ”%(step)s”, som inte är en användaruppgift i "
                                    "rutinen (bytt namn eller borttaget? ange steget det bygger på nu)"),
    "step.context_itself": N_("context nämner steget självt (”%(step)s”): ange de tidigare steg det "
                              "bygger på"),
    "step.prefill_form": N_("en prefill-del skrivs FÄLT=KÄLLA (KÄLLA: today, guardians, STEG.FÄLT eller "
                            "STEG.FÄLT[NYCKEL]), inte ”%(clause)s”"),
    "step.prefill_no_form": N_("prefill fyller i ett formulär, och steget har inget"),
    "step.prefill_unknown_target": N_("prefill fyller i ”%(field)s”, som stegets formulär %(form)s inte "
                                      "har"),
    "step.prefill_unknown_step": N_("prefill läser steget ”%(step)s”, som inte är en användaruppgift i "
                                    "rutinen"),
    "step.prefill_unknown_field": N_("prefill läser ”%(field)s”, som formuläret i steget ”%(step)s” inte "
                                     "har"),
    "step.prefill_mismatch": N_("prefill lägger %(source)s i ”%(field)s”, som inte kan ta emot det (ett "
                                "datum tar today, en lista med rader guardians och ett fält ett värde av "
                                "sitt eget slag)"),
    "expression.refused": N_("%(what)s godtogs inte: %(reason)s"),
    "what.condition": N_("villkoret"),
    "what.timer": N_("timern"),
    "what.loop_cardinality": N_("antalet instanser"),
    "what.completion_condition": N_("slutvillkoret"),
    "what.loop_condition": N_("slingans villkor"),
    "what.loop_maximum": N_("slingans maximum"),
    "what.event_condition": N_("händelsens villkor"),
    "what.message_payload": N_("meddelandets innehåll"),
    "what.service_parameter": N_("serviceuppgiftens parameter"),
    "what.script": N_("skriptet"),
    "what.pre_script": N_("förskriptet"),
    "what.post_script": N_("efterskriptet"),
    "what.a_timer": N_("en timer"),
    "what.a_due_rule": N_("en tidsfrist"),
    "form.not_json": N_("formuläret är inte giltig JSON: %(detail)s"),
    "form.not_utf8": N_("ett formulär måste vara UTF-8-text (det är JSON), men byte %(byte)s är det inte"),
    "form.not_object": N_("ett formulär måste vara ett JSON Schema av typen object"),
    "form.bad_schema": N_("inte ett giltigt JSON Schema: %(detail)s"),
    "form.case_conditions": N_("caseConditions måste vara en lista av "
                                 "{\"if\": <schema>, \"then\": <schema>}"),
    "form.case_condition_schema": N_("caseConditions %(part)s: inte ett giltigt JSON Schema: %(detail)s"),
    "form.date_rule_format": N_("%(field)s: %(rule)s gäller bara ett fält med formatet date eller date-time"),
    "form.date_rule_references": N_("%(field)s: %(rule)s måste vara en lista av referenser (\"today\" eller "
                                    "en datanyckel)"),
    "due.bad_rule": N_("tidsfristen ”%(rule)s” är varken en ISO 8601-varaktighet (P1W, P3D, PT24H) eller ett "
                       "antal arbetsdagar (5BD)"),
    "timer.too_long": N_("”%(value)s” är för lång för %(what)s: högst %(years)s år (organisatörens "
                         "inställning ELEVFLOW_MAX_TIMER_YEARS)"),
    "timer.too_far": N_("”%(value)s” ligger för långt fram för en timer: högst %(years)s år (organisatörens "
                        "inställning ELEVFLOW_MAX_TIMER_YEARS)"),
    "timer.wrong_kind": N_("%(kind)s behöver %(needs)s, inte ”%(value)s”"),
    "timer.needs_date": N_("ett datum som 2026-12-01T08:00:00+01:00"),
    "timer.needs_duration": N_("en varaktighet som P7D eller PT24H"),
    "timer.needs_cycle": N_("en cykel som R3/PT1H"),
    "timer.no_offset": N_("”%(value)s” har en tid på dagen men ingen UTC-förskjutning; lägg till en, till "
                          "exempel 2026-12-01T08:00:00+01:00 (SpiffWorkflow skulle annars använda "
                          "serverns förskjutning när den startade)"),
    "timer.invalid": N_("”%(value)s” är inte en giltig %(kind)s: %(detail)s"),
    "timer.not_text": N_("en timer måste vara ISO 8601-text som P7D, inte %(value)s"),
    "timer.as_condition": N_("”%(literal)s” är ett timervärde, inte ett villkor eller uttryck; ett villkor "
                             "är sant eller falskt, till exempel beslut == 'atgardsprogram'"),
    "loop.maximum_not_whole": N_("loopMaximum måste vara ett heltal, inte ”%(value)s”"),
    "loop.maximum_too_many": N_("en slinga får gå högst %(limit)s varv, inte %(value)s (organisatörens "
                                "inställning ELEVFLOW_MAX_LOOP_ROUNDS)"),
    "loop.cardinality_not_whole": N_("ett antal instanser måste vara ett heltal, 0 eller mer, "
                                       "inte %(value)s"),
    "loop.cardinality_too_many": N_("en flerinstansuppgift får ha högst %(limit)s instanser, inte %(value)s "
                                    "(organisatörens inställning ELEVFLOW_MAX_LOOP_ROUNDS)"),
    "limit.step_seconds": N_("ärendets automatiska steg tog mer än %(limit)s s utan att vänta på någon "
                             "(senast vid %(step)s); rutinen verkar gå runt utan slut (organisatörens "
                             "inställning ELEVFLOW_MAX_STEP_SECONDS)"),
    "limit.step_tasks": N_("ärendet körde mer än %(limit)s automatiska steg utan att vänta på någon (senast "
                           "vid %(step)s); rutinen verkar gå runt utan slut (organisatörens inställning "
                           "ELEVFLOW_MAX_STEP_TASKS)"),
    "limit.too_deep": N_("rutinen går runt eller är nästlad för djupt för att motorn ska kunna följa den (en "
                         "slinga av automatiska steg som aldrig väntar på någon, eller en mycket lång kedja "
                         "av steg)"),
    "limit.rounds": N_("%(step)s gick över %(limit)s %(what)s; ärendet stoppas där (organisatörens "
                       "inställning ELEVFLOW_MAX_LOOP_ROUNDS)"),
    "what.loop_rounds": N_("varv"),
    "what.instances": N_("instanser"),
    "what.instances_asked": N_("instanser (%(value)s begärdes)"),
    "conflict.case_changed": N_("ärende %(case)s ändrades av någon annan under tiden; ladda om och försök "
                                "igen"),
    "conflict.case_changed_since_opened": N_("ärende %(case)s har ändrats av någon annan sedan du öppnade "
                                             "det; ladda om och försök igen"),
    "conflict.same_moment": N_("någon annan ändrade samma ärende i samma ögonblick; ladda om och "
                               "försök igen"),
    "conflict.case_status": N_("ärende %(case)s är redan %(status)s"),
    "conflict.task_state": N_("uppgiften ”%(task)s” är redan %(state)s"),
    "conflict.task_done_by": N_("uppgiften ”%(task)s” är redan %(state)s (av användare %(user)s %(at)s)"),
    "conflict.task_changed": N_("uppgiften ”%(task)s” ändrades av någon annan under tiden"),
    "conflict.task_taken": N_("uppgiften ”%(task)s” är redan tagen av användare %(user)s"),
    "conflict.not_waiting": N_("ärende %(case)s väntar inte på meddelandet ”%(message)s” (det väntar på "
                               "%(waiting)s)"),
    "conflict.nothing_recorded": N_("”%(name)s” har inte registrerat något än (%(state)s)"),
    "attachment.empty": N_("filen är tom"),
    "attachment.too_large": N_("filen är större än %(mb)s MB"),
    "attachment.kind": N_("filer som slutar på ”%(ending)s” kan inte bifogas; de här kan: %(allowed)s"),
    "attachment.content": N_("filens innehåll är inte det som namnet säger (%(ending)s)"),
    "attachment.infected": N_("viruskontrollen stoppade filen"),
    "attachment.scan_failed": N_("viruskontrollen kunde inte granska filen; försök igen senare eller "
                                 "kontakta administratören"),
    "conflict.draft_saved_at": N_("utkast %(draft)s sparades av någon annan under tiden (%(at)s); ladda om "
                                  "det och gör din ändring igen"),
    "conflict.draft_saved": N_("utkast %(draft)s sparades av någon annan under tiden; ladda om det först"),
    "conflict.version_published": N_("version %(version)s av %(key)s publicerades efter att utkastet "
                                     "öppnades (%(at)s): öppna det igen och gör om ändringen"),
    "conflict.nothing_to_publish": N_("utkastet är likadant som version %(version)s: det finns inget att "
                                      "publicera"),
    "conflict.deployed_same_moment": N_("%(key)s driftsattes av någon annan i samma ögonblick; försök igen"),
    "conflict.version_unreadable": N_("en sparad version kan inte läsas: %(problem)s"),
    "conflict.different_routines": N_("version %(old)s och %(new)s hör till olika rutiner"),
    "conflict.token_revoked": N_("API-nyckel %(token)s är redan återkallad"),
    "what.no_message": N_("inget meddelande"),
    "what.none": N_("inga"),
    "what.no_form": N_("(inget)"),
    "state.ready": N_("öppen"),
    "state.completed": N_("klar"),
    "state.cancelled": N_("avbruten"),
    "state.failed": N_("misslyckad"),
    "state.running": N_("pågående"),
}


def _param(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10_000:
        return format_decimal(value)
    return say_param(value, say_coded)


def say(code: str, params: dict[str, Any] | None = None) -> str:
    """A code with its parameters in the request's language."""
    variables = {k: _param(v) for k, v in (params or {}).items()}
    return gettext(SWEDISH[code], **variables) if variables else gettext(SWEDISH[code])


def say_coded(message: Coded) -> str:
    return say(message.code, message.params)


def say_error(exc: ElevflowError) -> str:
    """An engine error in the request's language: its code if it has one, else its English text."""
    return say_coded(exc.coded)


def say_problem(problem: Problem) -> str:
    """One deploy problem in the request's language, with where it is."""
    where = [part for part in (problem.file, gettext("rad %(line)s", line=problem.line) if problem.line
                               else None, problem.element_id) if part]
    text = say(problem.code, problem.params)
    return f"{', '.join(where)}: {text}" if where else text
